using Podvisor.Vmm.Boot;
using Podvisor.Vmm.Machine;

namespace Podvisor.Vmm.Tests;

/// <summary>Bad input is refused before anything is created.</summary>
public sealed class MachineConfigTests
{
    private static MachineConfig Good => new() { KernelPath = GuestImages.MicrovmKernel, InitrdPath = GuestImages.Initrd };

    [Theory]
    [InlineData(0, 256, "cpus must be between 1 and 254")]
    [InlineData(255, 256, "cpus must be between 1 and 254")]
    [InlineData(1, 8, "memory must be at least 16 MiB")]
    [InlineData(1, 2UL << 20, "memory must be at most 1048576 MiB (1 TiB)")]
    public void OutOfRangeSizesAreNamed(int cpus, ulong memory, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => (Good with { Cpus = cpus, MemoryMiB = memory }).Validate());
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData(3UL, 256UL, "huge pages are 2 MiB or 1024 MiB")]
    [InlineData(2UL, 255UL, "memory must be a multiple of the 2 MiB huge page size")]
    [InlineData(1024UL, 1536UL, "memory must be a multiple of the 1024 MiB huge page size")]
    public void HugePageSizesAreChecked(ulong page, ulong memory, string message) =>
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => (Good with { HugePageSizeMiB = page, MemoryMiB = memory }).Validate()).Message);

    [Fact]
    public void MissingFilesAreNamed()
    {
        Assert.Contains("kernel /nope/bzImage does not exist",
            Assert.Throws<ArgumentException>(() => (Good with { KernelPath = "/nope/bzImage" }).Validate()).Message);
        Assert.Contains("initrd /nope/initrd does not exist",
            Assert.Throws<ArgumentException>(() => (Good with { InitrdPath = "/nope/initrd" }).Validate()).Message);
    }

    [Fact]
    public void NonPrintableCommandLineIsRefused() =>
        Assert.Throws<ArgumentException>(() => (Good with { CommandLine = "console=ttyS0\nrm" }).Validate());

    [Fact]
    public void AFileThatIsNotAKernelFailsBeforeKvmIsTouched()
    {
        string notKernel = Path.GetTempFileName();
        try
        {
            File.WriteAllText(notKernel, "hello");
            var e = Assert.Throws<BootException>(() => VirtualMachine.Create(Good with { KernelPath = notKernel }, _ => { },
                kvmDevice: "/nonexistent/kvm"));
            Assert.Contains("is not a Linux kernel: neither a bzImage", e.Message);
        }
        finally
        {
            File.Delete(notKernel);
        }
    }

    [Fact]
    public void MoreMemoryThanTheHostHasIsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => (Good with { MemoryMiB = 1024 }).Validate(hostMemoryMiB: 512));
        Assert.Contains("1024 MiB is more than this host has (512 MiB)", e.Message);
        (Good with { MemoryMiB = 512 }).Validate(hostMemoryMiB: 512);
    }
}
