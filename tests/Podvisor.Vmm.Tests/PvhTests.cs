using System.Buffers.Binary;
using Podvisor.Vmm.Acpi;
using Podvisor.Vmm.Boot;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Tests;

public sealed class PvhTests : IDisposable
{
    private readonly GuestRam _ram = new(128 << 20);
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-pvh-").FullName;

    public void Dispose()
    {
        _ram.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private ulong U64(ulong address) => _ram.ReadValue<ulong>(new GuestAddress(address));

    private uint U32(ulong address) => _ram.ReadValue<uint>(new GuestAddress(address));

    [Fact]
    public void TheSharedVmlinuxIsRecognisedByItsPvhNote()
    {
        var kernel = Assert.IsType<PvhElfKernel>(KernelImage.Load(GuestImages.MicrovmVmlinux));
        Assert.Equal(0x0100_0500u, kernel.EntryPoint);               // readelf -n: Xen note 0x12, 00 05 00 01
        Assert.Equal(4, kernel.Segments.Count);
        Assert.Equal(0x0100_0000UL, kernel.Segments[0].PhysicalAddress);
        Assert.True(kernel.Segments.All(s => s.FileSize <= s.MemorySize));
        Assert.IsType<BzImage>(KernelImage.Load(GuestImages.MicrovmKernel));
    }

    [Fact]
    public void AnElfWithoutThePvhNoteIsExplained()
    {
        // This test process's own host (an ELF executable without Xen notes) stands in for a non-PVH vmlinux.
        string elf = Path.Combine(_dir, "not-pvh");
        File.Copy("/bin/true", elf);
        var e = Assert.Throws<BootException>(() => KernelImage.Load(elf));
        Assert.Matches("is not an x86-64 executable ELF|without a PVH entry note", e.Message);

        string garbage = Path.Combine(_dir, "garbage");
        File.WriteAllBytes(garbage, [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0]);
        Assert.Contains("is not an ELF file", Assert.Throws<BootException>(() => KernelImage.Load(garbage)).Message);
    }

    [Fact]
    public void LoaderPlacesSegmentsStartInfoModuleAndMemoryMap()
    {
        var kernel = (PvhElfKernel)KernelImage.Load(GuestImages.MicrovmVmlinux);
        byte[] initrd = new byte[200_000];
        initrd[0] = 0x1f;
        var boot = PvhLoader.Load(_ram, kernel, initrd, "console=ttyS0");

        Assert.Equal(BootProtocol.Pvh, boot.Protocol);
        Assert.Equal(kernel.EntryPoint, boot.EntryPoint);
        // The first segment's bytes are at its physical address, its tail zeroed.
        using (var file = File.OpenRead(GuestImages.MicrovmVmlinux))
        {
            var first = kernel.Segments[0];
            var expected = new byte[4096];
            file.Seek((long)first.FileOffset, SeekOrigin.Begin);
            file.ReadExactly(expected);
            Assert.Equal(expected, _ram.GetReadOnlySpan(new GuestAddress(first.PhysicalAddress), 4096).ToArray());
        }
        var bss = kernel.Segments.First(s => s.MemorySize > s.FileSize);
        Assert.Equal(0, _ram.ReadValue<byte>(new GuestAddress(bss.End - 1)));

        ulong info = boot.ZeroPage;
        Assert.Equal(PvhStartInfo.Magic, U32(info));
        Assert.Equal(1u, U32(info + 4));                              // version 1: has the memory map
        Assert.Equal(1u, U32(info + 12));                             // one module: the initrd
        Assert.Equal(BootLayout.CommandLineAddress, U64(info + 24));
        Assert.Equal(AcpiTables.RsdpAddress, U64(info + 32));
        ulong module = U64(info + 16);
        Assert.Equal(boot.InitrdAddress, U64(module));
        Assert.Equal(200_000UL, U64(module + 8));
        Assert.Equal(0x1f, _ram.ReadValue<byte>(new GuestAddress(boot.InitrdAddress)));
        Assert.True(boot.InitrdAddress >= kernel.End);
        ulong map = U64(info + 40);
        Assert.Equal((uint)boot.MemoryMap.Count, U32(info + 48));
        for (int i = 0; i < boot.MemoryMap.Count; i++)
        {
            Assert.Equal(boot.MemoryMap[i].Address, U64(map + (ulong)i * 24));
            Assert.Equal(boot.MemoryMap[i].Size, U64(map + (ulong)i * 24 + 8));
            Assert.Equal((uint)boot.MemoryMap[i].Type, U32(map + (ulong)i * 24 + 16));
        }
        Assert.Equal("console=ttyS0\0"u8.ToArray(), _ram.GetReadOnlySpan(new GuestAddress(BootLayout.CommandLineAddress), 14).ToArray());
    }

    [Fact]
    public void EntryStateIsFlat32BitProtectedModeWithoutPaging()
    {
        var sregs = new Kvm.Abi.KvmSregs { Cr0 = 0x8000_0011, Cr4 = 0x20, Efer = 0x500 };
        ProtectedMode32.ApplyTo(ref sregs);
        Assert.Equal(0x11UL, sregs.Cr0);                               // PE kept, PG off
        Assert.Equal((0UL, 0UL), (sregs.Cr4, sregs.Efer));
        Assert.Equal((1, 0, 0xffff_ffffu, 0xbu), (sregs.Cs.Db, sregs.Cs.L, sregs.Cs.Limit, (uint)sregs.Cs.Type));
        Assert.Equal((1, 0xffff_ffffu), (sregs.Ss.Db, sregs.Ss.Limit));
        Assert.Equal((0xbu, 0x67u), ((uint)sregs.Tr.Type, sregs.Tr.Limit));
        var regs = ProtectedMode32.EntryRegisters(new BootSetup(0x1000500, 0x7000, 0, 0, "", []));
        Assert.Equal((0x1000500UL, 0x7000UL), (regs.Rip, regs.Rbx));
    }

    [Fact]
    public void AKernelLargerThanGuestRamIsRefused()
    {
        using var tiny = new GuestRam(16 << 20);
        var kernel = (PvhElfKernel)KernelImage.Load(GuestImages.MicrovmVmlinux);
        Assert.Contains("MiB of guest memory", Assert.Throws<BootException>(() => PvhLoader.Load(tiny, kernel, [], "x")).Message);
    }
}
