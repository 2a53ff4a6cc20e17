using Podvisor.Vmm.Boot;

namespace Podvisor.Vmm.Tests;

public sealed class BzImageTests
{
    [Fact]
    public void ParsesTheMicrovmKernel()
    {
        var kernel = BzImage.Load(GuestImages.MicrovmKernel);
        Assert.True(kernel.Protocol >= 0x020f, $"protocol {kernel.Protocol:x}");
        Assert.Equal(0, kernel.SetupSize % 512);
        Assert.True(kernel.ProtectedModeKernelLength > 1_000_000);
        Assert.True(kernel.CommandLineSize >= 2047);
        Assert.True(kernel.InitSize > (uint)kernel.ProtectedModeKernelLength, "init_size covers decompression");
        Assert.Equal(0x55, kernel.SetupHeader[0x1fe - 0x1f1]);
    }

    [Fact]
    public void RandomBytesAreNotAKernel()
    {
        var bytes = new byte[8192];
        new Random(1).NextBytes(bytes);
        var e = Assert.Throws<BootException>(() => BzImage.Parse(bytes, "random.bin"));
        Assert.Contains("random.bin is not a Linux kernel: neither a bzImage", e.Message);
    }

    [Fact]
    public void TruncatedKernelIsRefused()
    {
        byte[] head = File.ReadAllBytes(GuestImages.MicrovmKernel)[..2048];
        var e = Assert.Throws<BootException>(() => BzImage.Parse(head, "short"));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void OldProtocolIsRefusedWithTheVersion()
    {
        byte[] image = File.ReadAllBytes(GuestImages.MicrovmKernel);
        image[0x206] = 0x0b;
        image[0x207] = 0x02;
        var e = Assert.Throws<BootException>(() => BzImage.Parse(image, "old"));
        Assert.Contains("2.11", e.Message);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        var e = Assert.Throws<BootException>(() => BzImage.Load("/nonexistent/bzImage"));
        Assert.Contains("/nonexistent/bzImage", e.Message);
    }

    [Fact]
    public void AKernelThatChangesAfterItWasCheckedIsRefusedWhenLoaded()
    {
        string copy = Path.Combine(Directory.CreateTempSubdirectory("podvisor-bzimage-").FullName, "bzImage");
        try
        {
            File.Copy(GuestImages.MicrovmKernel, copy);
            var kernel = BzImage.Load(copy);
            using (var file = File.OpenWrite(copy)) file.SetLength(file.Length - 4096);
            var buffer = new byte[kernel.ProtectedModeKernelLength];
            var e = Assert.Throws<BootException>(() => kernel.ReadProtectedModeKernel(buffer));
            Assert.Contains("changed since it was checked", e.Message);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(copy)!, recursive: true);
        }
    }
}
