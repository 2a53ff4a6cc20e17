using System.Text;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Boot;

/// <summary>
/// Loads a bzImage for a 64-bit boot: protected-mode kernel at 1 MiB, initrd at the top of what the
/// kernel can reach, command line, zero page with the e820 map, identity page tables and a GDT.
/// </summary>
public static class LinuxLoader
{
    public static BootSetup Load(IGuestMemory memory, BzImage kernel, ReadOnlySpan<byte> initrd, string commandLine)
    {
        var boot = Place(memory, kernel, initrd.Length, commandLine);
        if (initrd.Length > 0) memory.Write(new GuestAddress(boot.InitrdAddress), initrd);
        return boot;
    }

    /// <summary>Loads the kernel with the initrd read from its file straight into guest RAM.</summary>
    public static BootSetup Load(IGuestMemory memory, BzImage kernel, InitrdFile? initrd, string commandLine)
    {
        var boot = Place(memory, kernel, initrd?.Length ?? 0, commandLine);
        initrd?.ReadInto(memory.GetSpan(new GuestAddress(boot.InitrdAddress), initrd.Length));
        return boot;
    }

    /// <summary>Everything but the initrd's bytes: the kernel, command line, zero page (with the initrd's place, which the
    /// caller then fills) and page tables.</summary>
    private static BootSetup Place(IGuestMemory memory, BzImage kernel, int initrdLength, string commandLine)
    {
        // Everything the loader places stays below the MMIO window (the kernel, initrd and boot structures are
        // addressed with 32 bits); RAM above 4 GiB only appears in the e820 map.
        ulong ramEnd = memory.Regions[0].End;
        ulong kernelEnd = BootLayout.HighMemoryStart + Math.Max((ulong)kernel.ProtectedModeKernelLength, kernel.InitSize);
        if (kernelEnd > ramEnd)
            throw new BootException($"the kernel needs {kernelEnd >> 20} MiB of guest memory to decompress; the VM has {ramEnd >> 20} MiB");
        kernel.ReadProtectedModeKernel(memory.GetSpan(new GuestAddress(BootLayout.HighMemoryStart), kernel.ProtectedModeKernelLength));

        byte[] cmdline = Encoding.ASCII.GetBytes(commandLine + "\0");
        if (cmdline.Length > kernel.CommandLineSize + 1)
            throw new BootException($"the kernel command line is {cmdline.Length - 1} bytes; this kernel takes at most {kernel.CommandLineSize}");
        memory.Write(new GuestAddress(BootLayout.CommandLineAddress), cmdline);

        var zeroPage = ZeroPage.For(kernel);
        zeroPage.SetCommandLine(BootLayout.CommandLineAddress);

        ulong initrdAddress = 0;
        if (initrdLength > 0)
        {
            // As high as the kernel allows, page aligned, and clear of the kernel's decompression area.
            ulong limit = Math.Min(ramEnd, (ulong)kernel.InitrdAddressMax + 1);
            if ((ulong)initrdLength > limit)
                throw new BootException($"the initrd ({initrdLength >> 20} MiB) does not fit below {limit >> 20} MiB");
            initrdAddress = (limit - (ulong)initrdLength) & ~0xFFFUL;
            if (initrdAddress < kernelEnd)
                throw new BootException($"kernel and initrd do not both fit in {ramEnd >> 20} MiB of guest memory");
            zeroPage.SetInitrd(initrdAddress, (ulong)initrdLength);
        }

        var e820 = MemoryMap(memory.Regions);
        zeroPage.SetE820(e820);
        memory.Write(new GuestAddress(BootLayout.ZeroPageAddress), zeroPage.Bytes);
        LongMode.WriteTables(memory);

        // The 64-bit entry point (startup_64) sits 0x200 into the protected-mode kernel.
        return new BootSetup(BootLayout.HighMemoryStart + 0x200, BootLayout.ZeroPageAddress, initrdAddress, (ulong)initrdLength,
            commandLine, e820);
    }

    /// <summary>RAM below the EBDA, the legacy hole up to 1 MiB, RAM to the end of the first region, then every other region.</summary>
    public static IReadOnlyList<E820Entry> MemoryMap(IReadOnlyList<GuestRegion> regions)
    {
        ulong lowEnd = regions[0].End;
        var map = new List<E820Entry>
        {
            new(0, BootLayout.EbdaStart, E820Type.Ram),
            new(BootLayout.EbdaStart, BootLayout.HighMemoryStart - BootLayout.EbdaStart, E820Type.Reserved),
            new(BootLayout.HighMemoryStart, lowEnd - BootLayout.HighMemoryStart, E820Type.Ram),
        };
        foreach (var region in regions.Skip(1)) map.Add(new(region.Start.Value, region.Size, E820Type.Ram));
        return map;
    }
}
