using System.Text;
using Podvisor.Vmm.Acpi;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Boot;

/// <summary>
/// Loads an ELF vmlinux for a PVH boot: segments at their physical addresses, the initrd as the one
/// module (high in low RAM, clear of the kernel), the command line, and the start info with the memory
/// map and the RSDP's address. The vCPU then starts in 32-bit protected mode (<see cref="ProtectedMode32"/>).
/// </summary>
public static class PvhLoader
{
    /// <summary>Keep the initrd below 2 GiB, as the bzImage protocol's usual initrd_addr_max does.</summary>
    private const ulong InitrdLimit = 1UL << 31;
    private const int MaxCommandLine = 2048;

    public static BootSetup Load(IGuestMemory memory, PvhElfKernel kernel, ReadOnlySpan<byte> initrd, string commandLine)
    {
        var boot = Place(memory, kernel, initrd.Length, commandLine);
        if (initrd.Length > 0) memory.Write(new GuestAddress(boot.InitrdAddress), initrd);
        return boot;
    }

    /// <summary>Loads the kernel with the initrd read from its file straight into guest RAM.</summary>
    public static BootSetup Load(IGuestMemory memory, PvhElfKernel kernel, InitrdFile? initrd, string commandLine)
    {
        var boot = Place(memory, kernel, initrd?.Length ?? 0, commandLine);
        initrd?.ReadInto(memory.GetSpan(new GuestAddress(boot.InitrdAddress), initrd.Length));
        Diagnostics.StartupTrace.Mark("initrd in guest RAM");
        return boot;
    }

    /// <summary>Everything but the initrd's bytes: the kernel's segments, command line, start info (with the initrd's
    /// place, which the caller then fills) and page tables.</summary>
    private static BootSetup Place(IGuestMemory memory, PvhElfKernel kernel, int initrdLength, string commandLine)
    {
        ulong lowEnd = memory.Regions[0].End;
        if (kernel.Segments.Any(s => s.PhysicalAddress < BootLayout.HighMemoryStart))
            throw new BootException($"{kernel.Path} has a segment below 1 MiB, where the boot structures live");
        if (kernel.End > lowEnd)
            throw new BootException($"the kernel needs {(kernel.End + (1 << 20) - 1) >> 20} MiB of guest memory; the VM has {lowEnd >> 20} MiB below 4 GiB");
        kernel.LoadInto(memory);
        Diagnostics.StartupTrace.Mark("kernel segments in guest RAM");

        byte[] cmdline = Encoding.ASCII.GetBytes(commandLine + "\0");
        if (cmdline.Length > MaxCommandLine)
            throw new BootException($"the kernel command line is {cmdline.Length - 1} bytes; at most {MaxCommandLine - 1} are passed");
        memory.Write(new GuestAddress(BootLayout.CommandLineAddress), cmdline);

        ulong initrdAddress = 0;
        if (initrdLength > 0)
        {
            ulong limit = Math.Min(lowEnd, InitrdLimit);
            ulong kernelEnd = (kernel.End + 0xfff) & ~0xfffUL;
            if ((ulong)initrdLength > limit || (initrdAddress = (limit - (ulong)initrdLength) & ~0xfffUL) < kernelEnd)
                throw new BootException($"kernel and initrd ({initrdLength >> 20} MiB) do not both fit in {lowEnd >> 20} MiB of guest memory");
        }

        var e820 = LinuxLoader.MemoryMap(memory.Regions);
        byte[] startInfo = PvhStartInfo.Build(BootLayout.ZeroPageAddress, BootLayout.CommandLineAddress, AcpiTables.RsdpAddress,
            initrdAddress, (ulong)initrdLength, e820);
        memory.Write(new GuestAddress(BootLayout.ZeroPageAddress), startInfo);
        ProtectedMode32.WriteTables(memory);
        return new BootSetup(kernel.EntryPoint, BootLayout.ZeroPageAddress, initrdAddress, (ulong)initrdLength, commandLine, e820)
        {
            Protocol = BootProtocol.Pvh,
        };
    }
}
