using Podvisor.Kvm.Abi;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Boot;

/// <summary>The CPU state a 64-bit Linux entry expects: flat segments from a GDT, paging with an
/// identity map of the first 1 GiB, long mode on, RSI pointing at the zero page.</summary>
public static class LongMode
{
    public const ushort CodeSelector = 1 * 8, DataSelector = 2 * 8, TssSelector = 3 * 8;

    // GDT entries: null, 64-bit code, data, TSS (flags/access in the usual packed form).
    private static readonly ulong[] Gdt =
    [
        0,
        Descriptor(0xa09b, 0, 0xfffff),   // code: present, ring 0, execute/read, L=1, G=1
        Descriptor(0xc093, 0, 0xfffff),   // data: present, ring 0, read/write, D/B=1, G=1
        Descriptor(0x808b, 0, 0xfffff),   // TSS: present, busy 64-bit TSS
    ];

    private static ulong Descriptor(ushort flags, uint baseAddress, uint limit) =>
        ((ulong)(baseAddress & 0xff000000) << (56 - 24)) | ((ulong)(flags & 0x0000f0ff) << 40)
        | ((ulong)(limit & 0x000f0000) << (48 - 16)) | ((ulong)(baseAddress & 0x00ffffff) << 16) | (limit & 0x0000ffff);

    public static void WriteTables(IGuestMemory memory)
    {
        for (int i = 0; i < Gdt.Length; i++) memory.WriteValue(new GuestAddress(BootLayout.GdtAddress + (ulong)i * 8), Gdt[i]);
        memory.WriteValue(new GuestAddress(BootLayout.IdtAddress), 0UL);
        memory.WriteValue(new GuestAddress(BootLayout.Pml4Address), BootLayout.PdptAddress | 0x03);
        memory.WriteValue(new GuestAddress(BootLayout.PdptAddress), BootLayout.PdAddress | 0x03);
        for (ulong i = 0; i < 512; i++)
            memory.WriteValue(new GuestAddress(BootLayout.PdAddress + i * 8), (i << 21) | 0x83); // present, writable, 2 MiB
    }

    private static KvmSegment Segment(ushort selector, ulong descriptor)
    {
        uint limit = (uint)(((descriptor >> 32) & 0xf0000) | (descriptor & 0xffff));
        bool pageGranular = ((descriptor >> 55) & 1) != 0;
        return new KvmSegment
        {
            Base = ((descriptor >> 16) & 0xffffff) | ((descriptor >> 32) & 0xff000000),
            Limit = pageGranular ? (limit << 12) | 0xfff : limit,
            Selector = selector,
            Type = (byte)((descriptor >> 40) & 0xf),
            S = (byte)((descriptor >> 44) & 1),
            Dpl = (byte)((descriptor >> 45) & 3),
            Present = (byte)((descriptor >> 47) & 1),
            Avl = (byte)((descriptor >> 52) & 1),
            L = (byte)((descriptor >> 53) & 1),
            Db = (byte)((descriptor >> 54) & 1),
            G = (byte)((descriptor >> 55) & 1),
        };
    }

    /// <summary>Applies the long-mode entry state to <paramref name="sregs"/> (keeping KVM's other fields).</summary>
    public static void ApplyTo(ref KvmSregs sregs)
    {
        sregs.Gdt = new KvmDtable { Base = BootLayout.GdtAddress, Limit = (ushort)(Gdt.Length * 8 - 1) };
        sregs.Idt = new KvmDtable { Base = BootLayout.IdtAddress, Limit = 7 };
        sregs.Cs = Segment(CodeSelector, Gdt[1]);
        sregs.Ds = sregs.Es = sregs.Fs = sregs.Gs = sregs.Ss = Segment(DataSelector, Gdt[2]);
        sregs.Tr = Segment(TssSelector, Gdt[3]);
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
