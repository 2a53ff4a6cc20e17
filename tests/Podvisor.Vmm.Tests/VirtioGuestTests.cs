using System.Security.Cryptography;
using Podvisor.Vmm.Devices.Virtio.Balloon;
using Podvisor.Vmm.Devices.Virtio.Block;
using Podvisor.Vmm.Devices.Virtio.Net;
using Podvisor.Vmm.Devices.Virtio.Rng;
using Podvisor.Vmm.Devices.Virtio.Vsock;
using Podvisor.Vmm.Machine;
using Podvisor.Vmm.Virtio;
using Podvisor.Testing;

namespace Podvisor.Vmm.Tests;

/// <summary>The microVM guest's own virtio drivers against our devices (full KVM: the emulated host here).</summary>
[Trait("Category", "FullKvm")]
public sealed class VirtioGuestTests : IDisposable
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(3);
    private const int DiskBytes = 4 << 20;
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-virtio-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (VmStopped Stopped, ConsoleCapture Console, VirtualMachine Vm) Boot(string script, MachineConfig overrides,
        Action<VirtualMachine>? beforeStart = null, Action<VirtualMachine, ConsoleCapture>? whileRunning = null, IEnumerable<string>? extraFiles = null)
    {
        string initrd = GuestImages.InitrdRunning(script, _dir, extraFiles);
        var config = overrides with
        {
            KernelPath = GuestImages.MicrovmKernel,
            InitrdPath = initrd,
            CommandLine = MachineConfig.DefaultCommandLine + " quiet",
        };
        var console = new ConsoleCapture();
        var vm = VirtualMachine.Create(config, console.Add);
        try
        {
            beforeStart?.Invoke(vm);
            vm.Start();
            whileRunning?.Invoke(vm, console);
            if (!vm.Stopped.Wait(BootTimeout))
                Assert.Fail($"the guest did not stop within {BootTimeout.TotalMinutes} minutes; console:\n{console.Text}");
            return (vm.Stopped.Result, console, vm);
        }
        finally
        {
            vm.Dispose();
        }
    }

    private string Image(string name, Func<int, byte> fill)
    {
        string path = Path.Combine(_dir, name);
        var bytes = new byte[DiskBytes];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = fill(i);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    [Theory]
    [InlineData(BlockIoMode.IoUring)]
    [InlineData(BlockIoMode.Threads)]
    [InlineData(BlockIoMode.Sync)]
    public void DisksCarryDataBothWaysAndAReadOnlyDiskRefusesWrites(BlockIoMode io)
    {
        var random = new Random(42);
        string fromHost = Image("from-host.img", _ => (byte)random.Next(256));
        string toHost = Image("to-host.img", _ => 0xff);
        string readOnly = Image("read-only.img", _ => 0x5a);
        const string script = """
            echo "GUEST-VDA-SHA=$(sha256sum < /dev/vda | cut -d' ' -f1)"
            echo "GUEST-VDA-SERIAL=$(cat /sys/block/vda/serial)"
            echo "GUEST-VDA-SECTORS=$(cat /sys/block/vda/size)"
            dd if=/dev/urandom of=/tmp/pattern bs=1M count=2 2>/dev/null
            echo "GUEST-PATTERN-SHA=$(sha256sum < /tmp/pattern | cut -d' ' -f1)"
            dd if=/tmp/pattern of=/dev/vdb bs=1M conv=fsync 2>/dev/null; echo "GUEST-DD-RC=$?"
            blkdiscard -o 2097152 -l 2097152 /dev/vdb; echo "GUEST-DISCARD-RC=$?"
            echo "GUEST-VDC-RO=$(cat /sys/block/vdc/ro)"
            dd if=/dev/zero of=/dev/vdc bs=512 count=1 conv=fsync 2>/dev/null; echo "GUEST-VDC-WRITE-RC=$?"
            """;
        var (stopped, console, vm) = Boot(script, new MachineConfig
        {
            KernelPath = "",
            Disks = [new DiskConfig(fromHost, Id: "from-host", Io: io), new DiskConfig(toHost, Io: io), new DiskConfig(readOnly, ReadOnly: true, Io: io)],
        });
        string log = console.Text;
        Assert.True(console.Value("GUEST-VDA-SHA=") == Sha256(File.ReadAllBytes(fromHost)), log);
        Assert.Equal("from-host", console.Value("GUEST-VDA-SERIAL="));
        Assert.Equal((DiskBytes / 512).ToString(), console.Value("GUEST-VDA-SECTORS="));

        Assert.True(console.Value("GUEST-DD-RC=") == "0", log);
        var written = File.ReadAllBytes(toHost);
        Assert.Equal(console.Value("GUEST-PATTERN-SHA="), Sha256(written.AsSpan(0, 2 << 20)));
        Assert.True(console.Value("GUEST-DISCARD-RC=") == "0", log);
        Assert.All(written[(2 << 20)..], b => Assert.Equal(0, b));      // discarded: reads as zeroes

        Assert.Equal("1", console.Value("GUEST-VDC-RO="));
        Assert.NotEqual("0", console.Value("GUEST-VDC-WRITE-RC="));
        Assert.All(File.ReadAllBytes(readOnly), b => Assert.Equal(0x5a, b));
        Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);
        Assert.All(vm.VirtioDevices, d => Assert.Equal(0, d.Device.RefusedChains));
    }

    [Fact]
    public void GuestReadsHostRandomnessFromHwrng()
    {
        const string script = """
            echo "GUEST-RNG-CURRENT=$(cat /sys/class/misc/hw_random/rng_current)"
            echo "GUEST-RNG-BYTES=$(dd if=/dev/hwrng bs=256 count=16 2>/dev/null | wc -c)"
            """;
        var (stopped, console, vm) = Boot(script, new MachineConfig { KernelPath = "", Rng = true });
        Assert.True(console.Value("GUEST-RNG-CURRENT=")?.StartsWith("virtio_rng", StringComparison.Ordinal) == true, console.Text);
        Assert.Equal("4096", console.Value("GUEST-RNG-BYTES="));
        var rng = Assert.IsType<VirtioRng>(Assert.Single(vm.VirtioDevices).Device);
        Assert.True(rng.BytesServed >= 4096, $"served {rng.BytesServed}");
        Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);
    }

    [Fact]
    public async Task GuestAndHostExchangeTrafficOverATapInANamespace()
    {
        using var ns = new NetworkNamespace();
        string tap = $"pvt{Guid.NewGuid().ToString("N")[..8]}";
        var mac = MacAddress.Parse("02:00:00:00:00:2a");
        var fromHost = new byte[1 << 20];
        new Random(7).NextBytes(fromHost);
        string fromHostFile = Path.Combine(_dir, "from-host.bin");
        File.WriteAllBytes(fromHostFile, fromHost);
        const string script = """
            ip link set eth0 up && ip addr add 10.0.2.2/24 dev eth0
            echo "GUEST-MAC=$(cat /sys/class/net/eth0/address)"
            ping -c 3 -W 5 10.0.2.1 >/dev/null; echo "GUEST-PING-RC=$?"
            dd if=/dev/urandom of=/tmp/out bs=64k count=32 2>/dev/null
            echo "GUEST-OUT-SHA=$(sha256sum < /tmp/out | cut -d' ' -f1)"
            nc 10.0.2.1 5001 < /tmp/out; echo "GUEST-SEND-RC=$?"
            echo GUEST-LISTENING
            nc -l -p 5002 > /tmp/in; echo "GUEST-IN-SHA=$(sha256sum < /tmp/in | cut -d' ' -f1)"
            """;
        System.Diagnostics.Process? listener = null;
        Task<byte[]>? received = null;
        try
        {
            var (stopped, console, vm) = Boot(script, new MachineConfig { KernelPath = "", Networks = [new NetConfig(tap, mac)] },
                beforeStart: _ =>
                {
                    ns.Adopt(tap, "10.0.2.1/24");
                    // nc ends a connection once its stdin and the socket are both at end: the listener's stdin
                    // stays open (it only receives), the senders close theirs when all is written.
                    listener = ns.Start("busybox", "nc", "-l", "-p", "5001");
                    received = ReadAllAsync(listener.StandardOutput.BaseStream);
                },
                whileRunning: (vm, console) =>
                {
                    Assert.True(console.WaitFor("GUEST-LISTENING", BootTimeout), console.Text);
                    // The guest's nc listens a moment after its marker: try until it answers.
                    string? failure = null;
                    for (int attempt = 0; attempt < 20; attempt++)
                    {
                        failure = null;
                        using var sender = ns.Start("busybox", "nc", "10.0.2.2", "5002");
                        try
                        {
                            sender.StandardInput.BaseStream.Write(fromHost);
                            sender.StandardInput.Close();
                        }
                        catch (IOException e)
                        {
                            failure = e.Message;              // nc gave up (connection refused: not listening yet)
                        }
                        sender.WaitForExit();
                        if (sender.ExitCode == 0 && failure is null) return;
                        failure = $"{failure} nc exit {sender.ExitCode}: {sender.StandardError.ReadToEnd()}";
                        Thread.Sleep(250);
                    }
                    var nic = (VirtioNet)vm.VirtioDevices[0].Device;
                    Assert.Fail($"the host could not send to the guest: {failure}; rx frames {nic.RxFrames} bytes {nic.RxBytes} dropped {nic.RxDropped}, refused {nic.RefusedChains}\n{console.Text}");
                });
            string log = console.Text;
            Assert.Equal(mac.ToString(), console.Value("GUEST-MAC="));
            Assert.True(console.Value("GUEST-PING-RC=") == "0", log);
            Assert.True(console.Value("GUEST-SEND-RC=") == "0", log);
            byte[] fromGuest = await received!.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            Assert.Equal(1 << 21, fromGuest.Length);
            Assert.Equal(console.Value("GUEST-OUT-SHA="), Sha256(fromGuest));
            Assert.True(console.Value("GUEST-IN-SHA=") == Sha256(fromHost), log);
            Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);
            var net = Assert.IsType<VirtioNet>(Assert.Single(vm.VirtioDevices).Device);
            Assert.True(net.TxBytes >= 1 << 21 && net.RxBytes >= 1 << 20, $"tx {net.TxBytes} rx {net.RxBytes}");
            Assert.Equal(0, net.RefusedChains);
        }
        finally
        {
            if (listener is { HasExited: false }) listener.Kill();
            listener?.Dispose();
        }
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private const ulong MiB = 1 << 20;

    /// <summary>The guest touches 180 of its 256 MiB, then frees it: host RSS holds it all until a balloon gives it back.</summary>
    private const string FillAndFree = """
        dd if=/dev/zero of=/tmp/fill bs=1M count=180 2>/dev/null
        echo "GUEST-FILLED"
        sleep 3
        rm /tmp/fill
        echo "GUEST-FREED"
        while true; do sleep 1; done
        """;

    [Fact]
    public void InflatingTheBalloonLowersTheVmmsMemory()
    {
        ulong before = 0, after = 0;
        uint target = 0;
        var (stopped, console, vm) = Boot(FillAndFree, new MachineConfig
        {
            KernelPath = "",
            Balloon = new BalloonOptions(FreePageReporting: false),
        }, whileRunning: (vm, console) =>
        {
            Assert.True(console.WaitFor("GUEST-FREED", BootTimeout), console.Text);
            before = vm.Memory.ResidentBytes();
            vm.SetBalloonTarget(128);
            target = vm.Balloon!.TargetPages;
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (vm.Balloon.ActualPages < target && DateTime.UtcNow < deadline) Thread.Sleep(100);
            after = vm.Memory.ResidentBytes();
            vm.Stop(StopReason.HostRequest, "test done");
        });
        var balloon = vm.Balloon!;
        TestContext.Current.TestOutputHelper?.WriteLine($"inflating {target * 4 / 1024} MiB: resident guest memory {before / MiB} MiB -> {after / MiB} MiB");
        Assert.True(balloon.ActualPages == target, $"the guest put {balloon.ActualPages} of {target} pages in the balloon\n{console.Text}");
        Assert.Equal((long)target, balloon.InflatedPages);
        // Almost every free guest page was touched, so most balloon pages were resident: RSS must fall by at
        // least half the balloon (measured: see the closing note).
        Assert.True(before - after >= 64 * MiB, $"resident guest memory {before / MiB} MiB → {after / MiB} MiB");
        Assert.Equal(StopReason.HostRequest, stopped.Reason);
    }

    [Fact]
    public void FreedGuestMemoryIsReportedAndGoesBackToTheHost()
    {
        ulong filled = 0, later = 0;
        var (_, console, vm) = Boot(FillAndFree, new MachineConfig { KernelPath = "", Balloon = new BalloonOptions() }, whileRunning: (vm, console) =>
        {
            Assert.True(console.WaitFor("GUEST-FILLED", BootTimeout), console.Text);
            filled = vm.Memory.ResidentBytes();
            Assert.True(console.WaitFor("GUEST-FREED", BootTimeout), console.Text);
            // The guest reports freed blocks a couple of seconds after they are freed.
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            do
            {
                Thread.Sleep(250);
                later = vm.Memory.ResidentBytes();
            }
            while (filled - Math.Min(filled, later) < 64 * MiB && DateTime.UtcNow < deadline);
            vm.Stop(StopReason.HostRequest, "test done");
        });
        TestContext.Current.TestOutputHelper?.WriteLine($"free page reporting: resident guest memory {filled / MiB} MiB -> {later / MiB} MiB, {(ulong)vm.Balloon!.ReportedBytes / MiB} MiB reported");
        Assert.True(filled - Math.Min(filled, later) >= 64 * MiB, $"resident guest memory {filled / MiB} MiB → {later / MiB} MiB; reported {(ulong)vm.Balloon!.ReportedBytes / MiB} MiB\n{console.Text}");
        Assert.True(vm.Balloon!.ReportedBytes >= 64 * (long)MiB);
    }

    [Fact]
    public void TheGuestReportsMemoryStatisticsOnRequest()
    {
        BalloonStatistics? first = null, second = null;
        var (_, console, _) = Boot("echo GUEST-UP; while true; do sleep 1; done\n", new MachineConfig { KernelPath = "", Balloon = new BalloonOptions() },
            whileRunning: (vm, console) =>
            {
                Assert.True(console.WaitFor("GUEST-UP", BootTimeout), console.Text);
                first = vm.Balloon!.Statistics;
                vm.RequestBalloonStatistics();
                var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
                while ((second = vm.Balloon.Statistics) == first && DateTime.UtcNow < deadline) Thread.Sleep(100);
                vm.Stop(StopReason.HostRequest, "test done");
            });
        Assert.NotNull(first);                                   // sent by the driver when it starts
        Assert.True(second is not null && second != first, "no statistics came back after the request");
        Assert.InRange(second[BalloonStatistic.TotalMemory] ?? 0, 200 * MiB, 256 * MiB);
        Assert.InRange(second[BalloonStatistic.FreeMemory] ?? 0, 1 * MiB, 256 * MiB);
    }

    [Fact]
    public async Task HostAndGuestTalkOverVsockBothWays()
    {
        string probe = GuestImages.StaticGuestProgram("vsock-probe", _dir);
        string socketPath = Path.Combine(_dir, "vm.vsock");
        var ct = TestContext.Current.CancellationToken;
        // Guest → host: the guest connects to host port 6000, i.e. our Unix socket vm.vsock_6000.
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath + "_6000"));
        listener.Listen(1);
        var fromGuest = Task.Run(async () =>
        {
            using var c = await listener.AcceptAsync(ct);
            using var buffer = new MemoryStream();
            await new System.Net.Sockets.NetworkStream(c).CopyToAsync(buffer, ct);
            byte[] data = buffer.ToArray();
            bool pattern = data.Select((b, i) => b == (byte)(i * 7)).All(ok => ok);
            await c.SendAsync(System.Text.Encoding.ASCII.GetBytes($"host-got-{data.Length}-pattern-{(pattern ? "ok" : "bad")}"), ct);
            return data.Length;
        }, ct);

        var echo = new byte[1 << 20];
        new Random(9).NextBytes(echo);
        byte[]? echoed = null;
        const string script = """
            /bin/vsock-probe echo-server 5000 &
            /bin/vsock-probe send 6000 300000
            wait
            """;
        var (stopped, console, vm) = Boot(script, new MachineConfig { KernelPath = "", Vsock = new VsockConfig(7, socketPath) }, extraFiles: [$"{probe}:/bin/vsock-probe"],
            whileRunning: (vm, console) =>
            {
                Assert.True(console.WaitFor("VSOCK-LISTENING", BootTimeout), console.Text);
                // Host → guest: CONNECT through the device's socket, 1 MiB out, the same 1 MiB echoed back.
                using var host = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                host.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath));
                host.Send("CONNECT 5000\n"u8.ToArray());
                var line = new List<byte>();
                var one = new byte[1];
                while (host.Receive(one) == 1 && one[0] != '\n') line.Add(one[0]);
                Assert.StartsWith("OK ", System.Text.Encoding.ASCII.GetString([.. line]));
                var reader = Task.Run(() =>
                {
                    using var buffer = new MemoryStream();
                    var chunk = new byte[65536];
                    int n;
                    while ((n = host.Receive(chunk)) > 0) buffer.Write(chunk, 0, n);
                    return buffer.ToArray();
                });
                host.Send(echo);
                host.Shutdown(System.Net.Sockets.SocketShutdown.Send);
                Assert.True(reader.Wait(TimeSpan.FromMinutes(2)), $"the echo did not end\n{console.Text}");
                echoed = reader.Result;
            });
        string log = console.Text;
        Assert.True(echoed is not null && echoed.AsSpan().SequenceEqual(echo), $"echoed {echoed?.Length} bytes\n{log}");
        Assert.Equal((1 << 20).ToString(), console.Value("VSOCK-ECHOED="));
        Assert.Equal(300000, await fromGuest.WaitAsync(TimeSpan.FromSeconds(30), ct));
        Assert.True(console.Value("VSOCK-REPLY=") == "host-got-300000-pattern-ok", log);
        Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);
        Assert.Equal(0, vm.Vsock!.RefusedChains);
    }

    [Fact]
    public void APausedVmsDevicesStandStillAndTheirStateCanBeSaved()
    {
        const string script = """
            echo GUEST-READING
            i=0; while [ $i -lt 200 ]; do dd if=/dev/hwrng of=/dev/null bs=64 count=1 2>/dev/null; i=$((i+1)); done
            echo GUEST-DONE
            """;
        IReadOnlyList<VirtioMmioState>? states = null;
        long servedWhilePaused = -1;
        var (stopped, console, vm) = Boot(script, new MachineConfig { KernelPath = "", Rng = true, Disks = [new DiskConfig(Image("paused.img", _ => 1))] },
            whileRunning: (vm, console) =>
            {
                Assert.True(console.WaitFor("GUEST-READING", BootTimeout), console.Text);
                vm.Pause();
                var rng = (VirtioRng)vm.VirtioDevices[1].Device;
                long before = rng.BytesServed;
                Thread.Sleep(500);
                servedWhilePaused = rng.BytesServed - before;
                states = vm.SaveDeviceStates();
                vm.Resume();
            });
        Assert.Equal(0, servedWhilePaused);
        Assert.Equal([VirtioDeviceType.Block, VirtioDeviceType.Rng], states!.Select(s => s.DeviceType));
        Assert.All(states!, s => Assert.True(((DeviceStatus)s.Status).HasFlag(DeviceStatus.DriverOk)));
        Assert.True(console.Text.Contains("GUEST-DONE", StringComparison.Ordinal), console.Text);
        Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);
    }

    [Theory]
    [InlineData(BlockIoMode.IoUring)]
    [InlineData(BlockIoMode.Threads)]
    public void PausingDuringDiskIoLeavesNothingInFlightAndLosesNothing(BlockIoMode io)
    {
        string disk = Image("busy.img", _ => 0);
        const string script = """
            dd if=/dev/urandom of=/tmp/pattern bs=1M count=4 2>/dev/null
            echo "GUEST-PATTERN-SHA=$(sha256sum < /tmp/pattern | cut -d' ' -f1)"
            echo GUEST-IO-RUNNING
            i=0; while [ $i -lt 30 ]; do
              dd if=/tmp/pattern of=/dev/vda bs=64k oflag=direct 2>/dev/null || echo GUEST-WRITE-FAILED
              dd if=/dev/vda of=/dev/null bs=64k iflag=direct 2>/dev/null || echo GUEST-READ-FAILED
              i=$((i+1))
            done
            echo "GUEST-READBACK-SHA=$(dd if=/dev/vda bs=64k iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
            """;
        long inFlightWhilePaused = -1, movedWhilePaused = -1;
        var (stopped, console, vm) = Boot(script, new MachineConfig { KernelPath = "", Disks = [new DiskConfig(disk, Io: io)] },
            whileRunning: (vm, console) =>
            {
                Assert.True(console.WaitFor("GUEST-IO-RUNNING", BootTimeout), console.Text);
                Thread.Sleep(300);
                vm.Pause();
                var block = (VirtioBlock)vm.VirtioDevices[0].Device;
                inFlightWhilePaused = block.InFlight;
                long before = block.BytesRead + block.BytesWritten;
                Thread.Sleep(300);
                movedWhilePaused = block.BytesRead + block.BytesWritten - before;
                vm.SaveDeviceStates();
                vm.Resume();
            });
        string log = console.Text;
        Assert.Equal(0, inFlightWhilePaused);
        Assert.Equal(0, movedWhilePaused);
        Assert.DoesNotContain("FAILED", log);
        string pattern = console.Value("GUEST-PATTERN-SHA=")!;
        Assert.True(console.Value("GUEST-READBACK-SHA=") == pattern, log);
        Assert.Equal(pattern, Sha256(File.ReadAllBytes(disk)));
        var device = (VirtioBlock)vm.VirtioDevices[0].Device;
        Assert.True(device.BytesWritten >= 30L * DiskBytes, $"only {device.BytesWritten} bytes written");
        Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);
    }

    [Fact]
    public void AMissingDiskFailsBeforeAnythingIsCreated()
    {
        var e = Assert.Throws<ArgumentException>(() => VirtualMachine.Create(new MachineConfig
        {
            KernelPath = GuestImages.MicrovmKernel,
            Disks = [new DiskConfig(Path.Combine(_dir, "missing.img"))],
        }, _ => { }));
        Assert.Contains("missing.img does not exist", e.Message);
    }
}
