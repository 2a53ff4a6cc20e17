using System.Security.Cryptography;
using Podvisor.Vmm.Devices.Virtio.Block;
using Podvisor.Vmm.Devices.Virtio.Rng;
using Podvisor.Vmm.Machine;

namespace Podvisor.Vmm.Tests;

/// <summary>The microVM guest's own virtio drivers against our devices (full KVM: the emulated host here).</summary>
[Trait("Category", "FullKvm")]
public sealed class VirtioGuestTests : IDisposable
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(3);
    private const int DiskBytes = 4 << 20;
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-virtio-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (VmStopped Stopped, ConsoleCapture Console, VirtualMachine Vm) Boot(string script, MachineConfig overrides)
    {
        string initrd = GuestImages.InitrdRunning(script, _dir);
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
            vm.Start();
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

    [Fact]
    public void DisksCarryDataBothWaysAndAReadOnlyDiskRefusesWrites()
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
            Disks = [new DiskConfig(fromHost, Id: "from-host"), new DiskConfig(toHost), new DiskConfig(readOnly, ReadOnly: true)],
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
