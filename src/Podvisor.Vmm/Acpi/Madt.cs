namespace Podvisor.Vmm.Acpi;

/// <summary>
/// The Multiple APIC Description Table: one enabled local APIC per vCPU (APIC id = vCPU index), the
/// IOAPIC with GSI base 0, and an NMI on LINT1 of every CPU. ISA IRQs map 1:1 to IOAPIC pins (KVM's
/// default routing); the one override says the SCI is level-triggered, active high (as QEMU declares it).
/// Otherwise the same facts as the MP table.
/// </summary>
public static class Madt
{
    private const uint FlagPcAtCompatible = 1;               // the in-kernel irqchip has the dual 8259
    private const byte TypeLocalApic = 0, TypeIoApic = 1, TypeInterruptSourceOverride = 2, TypeLocalApicNmi = 4;
    private const ushort ActiveHighLevelTriggered = 0x000d;

    public static byte[] Build(int cpus, uint localApicAddress, byte ioApicId, uint ioApicAddress)
    {
        if (cpus < 1 || cpus > 254) throw new ArgumentOutOfRangeException(nameof(cpus), cpus, "1 to 254 vCPUs");
        var t = new SystemDescriptionTable("APIC", revision: 5);
        t.AppendUInt32(localApicAddress);
        t.AppendUInt32(FlagPcAtCompatible);
        for (int id = 0; id < cpus; id++)
            t.Append([TypeLocalApic, 8, (byte)id, (byte)id]).AppendUInt32(1);      // processor uid, APIC id, enabled
        t.Append([TypeIoApic, 12, ioApicId, 0]).AppendUInt32(ioApicAddress).AppendUInt32(0);
        t.Append([TypeInterruptSourceOverride, 10, 0 /* ISA */, Fadt.SciIrq]).AppendUInt32(Fadt.SciIrq).AppendUInt16(ActiveHighLevelTriggered);
        t.Append([TypeLocalApicNmi, 6, 0xff]).AppendUInt16(0).AppendByte(1);       // all processors, default flags, LINT1
        return t.Build();
    }
}
