using Podvisor.Kvm.Abi;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Boot;

/// <summary>
/// The GDT both kernel entry modes use, at <see cref="BootLayout.GdtAddress"/>: null, code, data, TSS (the
/// modes differ only in the descriptors' flags), with an empty IDT beside it.
/// </summary>
public static class BootGdt
{
    public const ushort CodeSelector = 1 * 8, DataSelector = 2 * 8, TssSelector = 3 * 8;

    public static void Write(IGuestMemory memory, ReadOnlySpan<ulong> gdt)
    {
        for (int i = 0; i < gdt.Length; i++) memory.WriteValue(new GuestAddress(BootLayout.GdtAddress + (ulong)i * 8), gdt[i]);
        memory.WriteValue(new GuestAddress(BootLayout.IdtAddress), 0UL);
    }

    /// <summary>Points GDTR/IDTR at the tables and loads CS, the data segments and TR from <paramref name="gdt"/>.</summary>
    public static void Load(ref KvmSregs sregs, ReadOnlySpan<ulong> gdt)
    {
        sregs.Gdt = new KvmDtable { Base = BootLayout.GdtAddress, Limit = (ushort)(gdt.Length * 8 - 1) };
        sregs.Idt = new KvmDtable { Base = BootLayout.IdtAddress, Limit = 7 };
        sregs.Cs = GdtDescriptor.ToSegment(CodeSelector, gdt[CodeSelector / 8]);
        sregs.Ds = sregs.Es = sregs.Fs = sregs.Gs = sregs.Ss = GdtDescriptor.ToSegment(DataSelector, gdt[DataSelector / 8]);
        sregs.Tr = GdtDescriptor.ToSegment(TssSelector, gdt[TssSelector / 8]);
    }
}
