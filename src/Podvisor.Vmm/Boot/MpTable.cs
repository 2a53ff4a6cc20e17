using System.Text;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Boot;

/// <summary>
/// The Intel MultiProcessor Specification 1.4 table that tells a guest without ACPI how many CPUs it has
/// and how ISA interrupts reach the IOAPIC: floating pointer "_MP_" and configuration table "PCMP" with
/// processor, bus, IOAPIC, I/O interrupt and local interrupt entries. Linux finds it by scanning the
/// last KiB of base memory (0x9fc00), where we put it.
/// </summary>
public static class MpTable
{
    public const uint LocalApicAddress = 0xfee0_0000, IoApicAddress = 0xfec0_0000;
    public const int IoApicPins = 24;
    private const byte ApicVersion = 0x14, IoApicVersion = 0x11;
    private const byte EntryProcessor = 0, EntryBus = 1, EntryIoApic = 2, EntryIoInterrupt = 3, EntryLocalInterrupt = 4;
    private const byte IntTypeInt = 0, IntTypeNmi = 1, IntTypeExtInt = 3;

    /// <summary>The IOAPIC's id: one past the last CPU's APIC id (as Firecracker does).</summary>
    public static byte IoApicId(int cpus) => (byte)(cpus + 1);

    public static byte[] Build(int cpus)
    {
        if (cpus < 1 || cpus > 254) throw new ArgumentOutOfRangeException(nameof(cpus));
        var entries = new List<byte>();
        for (int id = 0; id < cpus; id++)
        {
            entries.AddRange([EntryProcessor, (byte)id, ApicVersion, (byte)(id == 0 ? 0x03 : 0x01)]); // enabled (+ boot CPU)
            entries.AddRange(U32(0x600));                  // signature: family 6
            entries.AddRange(U32(0x201));                  // features: FPU, APIC
            entries.AddRange(new byte[8]);
        }
        entries.AddRange([EntryBus, 0, .. "ISA   "u8]);
        byte ioapic = IoApicId(cpus);
        entries.AddRange([EntryIoApic, ioapic, IoApicVersion, 0x01, .. U32(IoApicAddress)]);
        for (byte irq = 0; irq < 16; irq++)
            entries.AddRange([EntryIoInterrupt, IntTypeInt, 0, 0, 0 /* bus */, irq, ioapic, irq]);
        entries.AddRange([EntryLocalInterrupt, IntTypeExtInt, 0, 0, 0, 0, 0, 0]);    // LINT0 of every CPU: ExtINT
        entries.AddRange([EntryLocalInterrupt, IntTypeNmi, 0, 0, 0, 0, 0xff, 1]);    // LINT1 of every CPU: NMI

        const int headerSize = 44;
        var table = new List<byte>();
        table.AddRange("PCMP"u8.ToArray());
        table.AddRange(U16((ushort)(headerSize + entries.Count)));
        table.Add(4);                                     // spec revision 1.4
        table.Add(0);                                     // checksum, below
        table.AddRange(Encoding.ASCII.GetBytes("PODVISOR"));
        table.AddRange(Encoding.ASCII.GetBytes("MICROVM     "));
        table.AddRange(U32(0));                           // no OEM table
        table.AddRange(U16(0));
        table.AddRange(U16((ushort)(cpus + 1 + 1 + 16 + 2)));
        table.AddRange(U32(LocalApicAddress));
        table.AddRange(U32(0));
        table.AddRange(entries);
        byte[] config = [.. table];
        config[7] = Acpi.Checksum.Of(config);

        var pointer = new byte[16];
        "_MP_"u8.CopyTo(pointer);
        BitConverter.GetBytes((uint)(BootLayout.MpTableAddress + 16)).CopyTo(pointer, 4);
        pointer[8] = 1;                                   // length in 16-byte units
        pointer[9] = 4;                                   // spec revision 1.4
        pointer[10] = Acpi.Checksum.Of(pointer);
        return [.. pointer, .. config];
    }

    public static void Write(IGuestMemory memory, int cpus)
    {
        byte[] table = Build(cpus);
        if (BootLayout.MpTableAddress + (ulong)table.Length > BootLayout.HighMemoryStart)
            throw new BootException($"the MP table for {cpus} CPUs does not fit below 1 MiB");
        memory.Write(new GuestAddress(BootLayout.MpTableAddress), table);
    }

    private static byte[] U32(uint v) => BitConverter.GetBytes(v);

    private static byte[] U16(ushort v) => BitConverter.GetBytes(v);
}
