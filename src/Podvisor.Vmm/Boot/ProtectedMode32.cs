using Podvisor.Kvm.Abi;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Boot;

/// <summary>
/// The CPU state the PVH entry expects (Xen's "HVM direct boot ABI"): 32-bit protected mode with paging
/// off, flat 4 GiB code and data segments, a valid TSS, EBX = physical address of hvm_start_info.
/// </summary>
public static class ProtectedMode32
{
    private static readonly ulong[] Gdt =
    [
        0,
        GdtDescriptor.Build(0xc09b, 0, 0xfffff),   // code: present, ring 0, execute/read, D=1 (32-bit), G=1
        GdtDescriptor.Build(0xc093, 0, 0xfffff),   // data: present, ring 0, read/write, D/B=1, G=1
        GdtDescriptor.Build(0x008b, 0, 0x67),      // TSS: present, busy 32-bit TSS, 104 bytes
    ];

    public static void WriteTables(IGuestMemory memory) => BootGdt.Write(memory, Gdt);

    public static void ApplyTo(ref KvmSregs sregs)
    {
        BootGdt.Load(ref sregs, Gdt);
        sregs.Cr0 = (sregs.Cr0 | 0x1) & ~0x8000_0000UL;   // PE on, PG off
        sregs.Cr4 = 0;
        sregs.Efer = 0;
    }

    public static KvmRegs EntryRegisters(BootSetup boot) => new()
    {
        Rip = boot.EntryPoint,
        Rbx = boot.ZeroPage,
        Rflags = 0x2,
    };
}
