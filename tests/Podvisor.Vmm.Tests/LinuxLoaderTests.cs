using System.Buffers.Binary;
using Podvisor.Vmm.Boot;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Tests;

public sealed class LinuxLoaderTests : IDisposable
{
    private readonly GuestRam _ram = new(128 << 20);
    private readonly BzImage _kernel = BzImage.Load(GuestImages.MicrovmKernel);

    public void Dispose() => _ram.Dispose();

    private uint U32(ulong address) => _ram.ReadValue<uint>(new GuestAddress(address));

    [Fact]
    public void PlacesKernelCommandLineInitrdAndZeroPage()
    {
        byte[] initrd = new byte[300_000];
        initrd[0] = 0x1f;
        var boot = LinuxLoader.Load(_ram, _kernel, initrd, "console=ttyS0 quiet");

        Assert.Equal(BootLayout.HighMemoryStart + 0x200, boot.EntryPoint);
        // The whole protected-mode kernel, as the file has it after the setup code.
        byte[] file = File.ReadAllBytes(GuestImages.MicrovmKernel);
        Assert.Equal(file.AsSpan(_kernel.SetupSize).ToArray(), _ram.GetReadOnlySpan(new GuestAddress(BootLayout.HighMemoryStart), _kernel.ProtectedModeKernelLength).ToArray());
        Assert.Equal("console=ttyS0 quiet\0"u8.ToArray(), _ram.GetReadOnlySpan(new GuestAddress(BootLayout.CommandLineAddress), 20).ToArray());

        ulong zp = BootLayout.ZeroPageAddress;
        Assert.Equal(0x53726448u, U32(zp + 0x202));                      // "HdrS" copied with the setup header
        Assert.Equal(0xff, _ram.ReadValue<byte>(new GuestAddress(zp + 0x210)));   // type_of_loader
        Assert.Equal((uint)BootLayout.CommandLineAddress, U32(zp + 0x228));
        Assert.Equal((uint)boot.InitrdAddress, U32(zp + 0x218));
        Assert.Equal(300_000u, U32(zp + 0x21c));
        Assert.Equal(0, (int)(boot.InitrdAddress % 4096));
        Assert.True(boot.InitrdAddress + 300_000 <= _ram.Size);
        Assert.Equal(0x1f, _ram.ReadValue<byte>(new GuestAddress(boot.InitrdAddress)));
    }

    [Fact]
    public void AnInitrdFileGoesStraightIntoGuestRamWhereTheZeroPageSaysAndOneThatChangedIsRefused()
    {
        string folder = Directory.CreateTempSubdirectory("podvisor-initrd-").FullName;
        try
        {
            string path = Path.Combine(folder, "initrd");
            byte[] bytes = new byte[123_457];
            new Random(7).NextBytes(bytes);
            File.WriteAllBytes(path, bytes);
            var boot = LinuxLoader.Load(_ram, _kernel, InitrdFile.Open(path), "x");
            Assert.Equal((uint)boot.InitrdAddress, U32(BootLayout.ZeroPageAddress + 0x218));
            Assert.Equal((uint)bytes.Length, U32(BootLayout.ZeroPageAddress + 0x21c));
            Assert.Equal(bytes, _ram.GetReadOnlySpan(new GuestAddress(boot.InitrdAddress), bytes.Length).ToArray());

            var checkedThen = InitrdFile.Open(path);
            File.WriteAllBytes(path, bytes[..1000]);
            Assert.Contains("changed since it was checked", Assert.Throws<BootException>(() => LinuxLoader.Load(_ram, _kernel, checkedThen, "x")).Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void E820CoversRamExceptTheLegacyHole()
    {
        var boot = LinuxLoader.Load(_ram, _kernel, [], "x");
        ulong ram = boot.MemoryMap.Where(e => e.Type == E820Type.Ram).Aggregate(0UL, (sum, e) => sum + e.Size);
        Assert.Equal(_ram.Size - (BootLayout.HighMemoryStart - BootLayout.EbdaStart), ram);
        var zp = _ram.GetReadOnlySpan(new GuestAddress(BootLayout.ZeroPageAddress), 4096);
        Assert.Equal(3, zp[0x1e8]);
        Assert.Equal(BootLayout.HighMemoryStart, BinaryPrimitives.ReadUInt64LittleEndian(zp[(0x2d0 + 40)..]));
        Assert.Equal(0u, U32(BootLayout.ZeroPageAddress + 0x218));       // no initrd
    }

    [Fact]
    public void IdentityPageTablesAndGdtAreWritten()
    {
        LinuxLoader.Load(_ram, _kernel, [], "x");
        Assert.Equal(BootLayout.PdptAddress | 3, _ram.ReadValue<ulong>(new GuestAddress(BootLayout.Pml4Address)));
        Assert.Equal((5UL << 21) | 0x83, _ram.ReadValue<ulong>(new GuestAddress(BootLayout.PdAddress + 5 * 8)));
        Assert.Equal(0x00af9b000000ffffUL, _ram.ReadValue<ulong>(new GuestAddress(BootLayout.GdtAddress + 8)));
        var sregs = new Kvm.Abi.KvmSregs();
        LongMode.ApplyTo(ref sregs);
        Assert.Equal((1, 0, 0xffffffffu, (ushort)8), (sregs.Cs.L, sregs.Cs.Db, sregs.Cs.Limit, sregs.Cs.Selector));
        Assert.Equal(0x500UL, sregs.Efer & 0x500);
    }

    [Fact]
    public void LoaderWritesAreTrackedAsVmmDirty()
    {
        _ram.TakeVmmDirty();
        LinuxLoader.Load(_ram, _kernel, [], "x");
        var dirty = _ram.TakeVmmDirty();
        Assert.True(dirty.IsDirty(BootLayout.ZeroPageAddress / 4096));
        Assert.True(dirty.IsDirty(BootLayout.HighMemoryStart / 4096));
        Assert.False(dirty.IsDirty(0x50000 / 4096));
    }

    [Fact]
    public void TooLittleMemoryOrTooLongCommandLineIsExplained()
    {
        using var small = new GuestRam(4 << 20);
        var e = Assert.Throws<BootException>(() => LinuxLoader.Load(small, _kernel, [], "x"));
        Assert.Contains("MiB of guest memory", e.Message);
        var cmd = Assert.Throws<BootException>(() => LinuxLoader.Load(_ram, _kernel, [], new string('a', 70_000)));
        Assert.Contains("command line", cmd.Message);
    }

    [Fact]
    public void GuestRamRefusesRangesOutsideIt()
    {
        Assert.Throws<GuestMemoryException>(() => _ram.GetSpan(new GuestAddress(_ram.Size - 2), 4));
        Assert.Throws<GuestMemoryException>(() => _ram.GetReadOnlySpan(new GuestAddress(ulong.MaxValue), 1));
    }
}
