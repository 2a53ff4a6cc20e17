using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Podvisor.Vmm.Machine;
using Podvisor.Vmm.Migration;

namespace Podvisor.Vmm.Tests.Migration;

/// <summary>
/// A Linux guest (the microVM kernel, 2 vCPUs, a virtio disk) live-migrated between two VMMs in this process
/// over loopback TCP, on full KVM: it keeps counting where it was, its memory and disk are intact, its clock
/// is right, its devices work on the target, and it powers off there cleanly.
/// </summary>
[Trait("Category", "FullKvm")]
public sealed partial class LinuxMigrationTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-linux-migration-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Fills 24 MiB of tmpfs (guest RAM) and 2 MiB of the disk with random bytes, then counts once a second in the
    // background and answers commands on the console: "verify" re-reads both (the disk bypassing the page cache)
    // and the clock, "write" puts the first MiB of the blob at 2 MiB on the disk, "stop" ends (init powers off).
    // Commands are read without a timeout: busybox's `read -t` checks its deadline before each byte, so a line
    // that arrived near the end of the second was cut in two and neither half was a command (a CI failure).
    private const string Script = """
        dd if=/dev/urandom of=/tmp/blob bs=1M count=24 2>/dev/null
        echo "GUEST-BLOB-SHA=$(sha256sum < /tmp/blob | cut -d' ' -f1)"
        dd if=/dev/urandom of=/dev/vda bs=1M count=2 conv=fsync 2>/dev/null
        echo "GUEST-VDA-SHA=$(head -c 2097152 /dev/vda | sha256sum | cut -d' ' -f1)"
        echo "GUEST-CPUS=$(grep -c ^processor /proc/cpuinfo)"
        echo GUEST-COUNTING
        ( i=0; while :; do i=$((i+1)); echo "TICK $i"; sleep 1; done ) &
        ticker=$!
        while read cmd; do
          case $cmd in
            verify)
              echo 3 > /proc/sys/vm/drop_caches
              echo "GUEST-VERIFY blob=$(sha256sum < /tmp/blob | cut -d' ' -f1) vda=$(head -c 2097152 /dev/vda | sha256sum | cut -d' ' -f1) date=$(date +%s) cpus=$(grep -c ^processor /proc/cpuinfo) VERIFY-END" ;;
            write)
              dd if=/tmp/blob of=/dev/vda bs=1M count=1 seek=2 conv=fsync 2>/dev/null
              echo "GUEST-WROTE rc=$? sha=$(head -c 1048576 /tmp/blob | sha256sum | cut -d' ' -f1) WROTE-END" ;;
            stop) kill $ticker; break ;;
          esac
        done
        """;

    [GeneratedRegex(@"TICK (\d+)")]
    private static partial Regex Tick();

    private static int LastTick(string console) => Tick().Matches(console).Select(m => int.Parse(m.Groups[1].Value)).DefaultIfEmpty(0).Max();

    private static string Field(string console, string line, string key)
    {
        // "KEY=value" lines, or "LINE … key=value" fields.
        var m = Regex.Match(console, line == key ? $@"{Regex.Escape(key)}=(\S+)" : $@"{Regex.Escape(line)} [^\n]*\b{key}=(\S+)");
        Assert.True(m.Success, $"no {line} … {key}= on the console:\n{console}");
        return m.Groups[1].Value;
    }

    private static void Expect(ConsoleCapture console, string marker, string where, VirtualMachine? vm = null)
    {
        if (!console.WaitFor(marker, Timeout))
            Assert.Fail($"{where}: no '{marker}' within {Timeout.TotalMinutes} minutes; console:\n{console.Text}\n{(vm is null ? "" : Describe(vm))}");
    }

    /// <summary>Each vCPU's registers, APIC timer and pending interrupts: what a stuck guest is waiting for.</summary>
    private static string Describe(VirtualMachine vm)
    {
        if (vm.State != VmState.Running) return $"the VM is {vm.State}";
        var text = new System.Text.StringBuilder();
        for (int snapshot = 0; snapshot < 2; snapshot++)
        {
            if (snapshot > 0) { vm.Resume(); Thread.Sleep(2000); }
            vm.Pause();
            DescribeInto(vm.SaveState(), text);
            text.AppendLine($"UART: {vm.Serial.Describe()}");
        }
        return text.ToString();
    }

    private static void DescribeInto(MachineState state, System.Text.StringBuilder text)
    {
        foreach (var v in state.Vcpus)
        {
            var regs = Podvisor.Kvm.StructBytes.To<Podvisor.Kvm.Abi.KvmRegs>(v.Regs, "regs");
            var lapic = Podvisor.Kvm.StructBytes.To<Podvisor.Kvm.Abi.KvmLapicState>(v.Lapic, "lapic");
            string Bits(int from) => string.Join("", Enumerable.Range(0, 8).Select(i => lapic.GetRegister(from + i * 0x10).ToString("x8")).Reverse());
            var msrs = v.Msrs.Where(m => m.Index is 0x10 or 0x6e0 or 0x3b or 0x4b564d01 or 0x4b564d04).Select(m => $"{m.Index:x}={m.Value:x}");
            text.AppendLine($"vCPU {v.Id}: rip={regs.Rip:x} rflags={regs.Rflags:x} mp={v.MpState} tpr={lapic.GetRegister(0x80):x} lvtt={lapic.GetRegister(0x320):x} " +
                $"tmict={lapic.GetRegister(0x380):x} tmcct={lapic.GetRegister(0x390):x} tdcr={lapic.GetRegister(0x3e0):x} isr={Bits(0x100)} irr={Bits(0x200)} msrs {string.Join(" ", msrs)}");
        }
        text.AppendLine($"kvmclock {Podvisor.Kvm.StructBytes.To<Podvisor.Kvm.Abi.KvmClockData>(state.Clocks.Clock, "clock").Clock}");
        // struct kvm_ioapic_state after the chip id and padding: base u64, ioregsel u32, id u32, irr u32, pad u32, redirtbl[24] u64.
        var ioapic = state.Ioapic.AsSpan(8);
        text.AppendLine($"IOAPIC irr={BitConverter.ToUInt32(ioapic[16..]):x} pin4={BitConverter.ToUInt64(ioapic[(24 + 4 * 8)..]):x} pin9={BitConverter.ToUInt64(ioapic[(24 + 9 * 8)..]):x}");
    }

    private static MachineConfig Config(string disk, string initrd, int cpus) => new()
    {
        KernelPath = GuestImages.MicrovmKernel,
        InitrdPath = initrd,
        CommandLine = MachineConfig.DefaultCommandLine + " loglevel=5",    // warnings too: the clocksource watchdog's
        Cpus = cpus,
        MemoryMiB = 256,
        Disks = [new DiskConfig(disk, ReadOnly: false)],
        Rng = true,
    };

    private static void AssertTimeStayedSane(string console)
    {
        Assert.DoesNotContain("as unstable", console);        // "Marking clocksource 'tsc' as unstable": a skew between the clocks
        Assert.DoesNotContain("soft lockup", console);
    }

    [Fact]
    public async Task APausedGuestResumesWithItsClockStoppedAndItsConsoleIntact()
    {
        string disk = Path.Combine(_dir, "disk.img");
        File.WriteAllBytes(disk, new byte[8 << 20]);
        var console = new ConsoleCapture();
        using var vm = VirtualMachine.Create(Config(disk, GuestImages.InitrdRunning(Script, _dir), cpus: 2), console.Add);
        vm.Start();
        Expect(console, "TICK 3", "the guest");
        vm.Pause();
        await Task.Delay(3000, TestContext.Current.CancellationToken);
        vm.Resume();
        vm.Serial.QueueInput("verify\n"u8);
        Expect(console, "VERIFY-END", "the resumed guest", vm);
        // The guest's clock stood still through the pause: it is behind the host's by the pause, as with QEMU.
        long behind = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - long.Parse(Field(console.Text, "GUEST-VERIFY", "date"));
        Assert.InRange(behind, 1, 8);
        vm.Serial.QueueInput("stop\n"u8);
        var stopped = await Task.WhenAny(vm.Stopped, Task.Delay(Timeout, TestContext.Current.CancellationToken));
        if (stopped != vm.Stopped) Assert.Fail($"the guest did not power off; console:\n{console.Text}");
        Assert.Equal(StopReason.GuestPowerOff, (await vm.Stopped).Reason);
        AssertTimeStayedSane(console.Text);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task ALinuxGuestMigratesWithItsMemoryDiskClockAndDevicesIntact(int cpus)
    {
        string disk = Path.Combine(_dir, "disk.img");
        File.WriteAllBytes(disk, new byte[8 << 20]);
        var config = Config(disk, GuestImages.InitrdRunning(Script, _dir), cpus);
        var sourceConsole = new ConsoleCapture();
        var targetConsole = new ConsoleCapture();
        using var source = VirtualMachine.Create(config, sourceConsole.Add);
        source.Start();
        Expect(sourceConsole, "TICK 3", "the source");
        string blob = Field(sourceConsole.Text, "GUEST-BLOB-SHA", "GUEST-BLOB-SHA");
        Assert.Equal($"{cpus}", Field(sourceConsole.Text, "GUEST-CPUS", "GUEST-CPUS"));

        using var target = VirtualMachine.CreateIncoming(config, targetConsole.Add);
        using var link = new LoopbackMigration();
        var cancel = TestContext.Current.CancellationToken;
        var receive = LoopbackMigration.ReceiveAsync(target, link.TargetLink, cancel);
        var result = await new MigrationSender(source, link.SourceLink).RunAsync(cancel);
        await receive;
        TestContext.Current.TestOutputHelper?.WriteLine(result.ToString());

        Assert.Equal(StopReason.Migrated, (await source.Stopped).Reason);
        int lastOnSource = LastTick(sourceConsole.Text);
        Expect(targetConsole, $"TICK {lastOnSource + 1}", "the target", target);   // the count goes on, no reboot
        Assert.DoesNotMatch(@"\bTICK 1\r?\n", targetConsole.Text);
        Assert.DoesNotContain("Linux version", targetConsole.Text);

        target.Serial.QueueInput("verify\n"u8);
        Expect(targetConsole, "VERIFY-END", "the target", target);
        string verify = targetConsole.Text;
        Assert.Equal(blob, Field(verify, "GUEST-VERIFY", "blob"));
        Assert.Equal(Field(sourceConsole.Text, "GUEST-VDA-SHA", "GUEST-VDA-SHA"), Field(verify, "GUEST-VERIFY", "vda"));
        Assert.Equal($"{cpus}", Field(verify, "GUEST-VERIFY", "cpus"));
        long guestNow = long.Parse(Field(verify, "GUEST-VERIFY", "date"));
        Assert.InRange(guestNow - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), -5, 5);   // behind by the downtime at most

        target.Serial.QueueInput("write\n"u8);
        Expect(targetConsole, "WROTE-END", "the target", target);
        Assert.Equal("0", Field(targetConsole.Text, "GUEST-WROTE", "rc"));
        string written = Field(targetConsole.Text, "GUEST-WROTE", "sha");
        using (var image = File.OpenRead(disk))
        {
            var mib = new byte[1 << 20];
            image.Seek(2 << 20, SeekOrigin.Begin);
            image.ReadExactly(mib);
            Assert.Equal(written, Convert.ToHexStringLower(SHA256.HashData(mib)));
        }

        target.Serial.QueueInput("stop\n"u8);
        var stopped = await Task.WhenAny(target.Stopped, Task.Delay(Timeout, cancel));
        if (stopped != target.Stopped) Assert.Fail($"the guest did not power off on the target; console:\n{targetConsole.Text}");
        Assert.Equal(StopReason.GuestPowerOff, (await target.Stopped).Reason);
        Assert.Contains("GUEST-RUN-RC=0", targetConsole.Text);
        AssertTimeStayedSane(targetConsole.Text);
    }
}
