using Podvisor.Kvm.Abi;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Boot;

/// <summary>The CPU state a 64-bit Linux entry expects: flat segments from a GDT, paging with an
/// identity map of the first 1 GiB, long mode on, RSI pointing at the zero page.</summary>
public static class LongMode
{
    // GDT entries: null, 64-bit code, data, TSS (flags/access in the usual packed form).
    private static readonly ulong[] Gdt =
    [
        0,
        GdtDescriptor.Build(0xa09b, 0, 0xfffff),   // code: present, ring 0, execute/read, L=1, G=1
        GdtDescriptor.Build(0xc093, 0, 0xfffff),   // data: present, ring 0, read/write, D/B=1, G=1
        GdtDescriptor.Build(0x808b, 0, 0xfffff),   // TSS: present, busy 64-bit TSS
    ];

    public static void WriteTables(IGuestMemory memory)
    {
        BootGdt.Write(memory, Gdt);
        memory.WriteValue(new GuestAddress(BootLayout.Pml4Address), BootLayout.PdptAddress | 0x03);
        memory.WriteValue(new GuestAddress(BootLayout.PdptAddress), BootLayout.PdAddress | 0x03);
        for (ulong i = 0; i < 512; i++)
            memory.WriteValue(new GuestAddress(BootLayout.PdAddress + i * 8), (i << 21) | 0x83); // present, writable, 2 MiB
    }

    /// <summary>Applies the long-mode entry state to <paramref name="sregs"/> (keeping KVM's other fields).</summary>
    public static void ApplyTo(ref KvmSregs sregs)
    {
        BootGdt.Load(ref sregs, Gdt);
        sregs.Cr3 = BootLayout.Pml4Address;
        sregs.Cr4 |= 0x20;                        // PAE
        sregs.Cr0 |= 0x8000_0001;                 // PG | PE
        sregs.Efer |= 0x500;                      // LMA | LME
    }

    public static KvmRegs EntryRegisters(BootSetup boot) => new()
    {
        Rip = boot.EntryPoint,
        Rsi = boot.ZeroPage,
        Rsp = BootLayout.BootStackPointer,
        Rbp = BootLayout.BootStackPointer,
        Rflags = 0x2,
    };
}
