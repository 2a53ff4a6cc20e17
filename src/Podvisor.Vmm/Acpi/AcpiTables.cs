using Podvisor.Vmm.Boot;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Acpi;

/// <summary>
/// Writes the microVM's ACPI tables into the reserved BIOS area below 1 MiB: RSDP at 0xE0000 (where Linux
/// scans for it), then XSDT, FADT, DSDT and MADT, each 16-byte aligned, and the FACS (64-byte aligned).
/// Returns where the RSDP went.
/// </summary>
public static class AcpiTables
{
    public const ulong RsdpAddress = 0xe_0000;
    private const ulong End = BootLayout.HighMemoryStart;

    public static ulong Write(IGuestMemory memory, int cpus, AcpiPorts ports, IReadOnlyList<MmioDeviceWindow>? virtioDevices = null)
    {
        // Addresses first (each table's size is known before its contents), then contents.
        byte[] dsdt = Dsdt.Build(virtioDevices);
        byte[] madt = Madt.Build(cpus, MpTable.LocalApicAddress, MpTable.IoApicId(cpus), MpTable.IoApicAddress);
        ulong xsdtAddress = Align(RsdpAddress + Rsdp.Length);
        ulong xsdtLength = SystemDescriptionTable.HeaderSize + 2 * sizeof(ulong);
        ulong fadtAddress = Align(xsdtAddress + xsdtLength);
        ulong dsdtAddress = Align(fadtAddress + Fadt.Length);
        ulong madtAddress = Align(dsdtAddress + (ulong)dsdt.Length);
        ulong facsAddress = (madtAddress + (ulong)madt.Length + Facs.Alignment - 1) & ~(ulong)(Facs.Alignment - 1);
        if (facsAddress + Facs.Length > End)
            throw new BootException($"the ACPI tables for {cpus} vCPUs do not fit below 1 MiB");

        byte[] fadt = Fadt.Build(facsAddress, dsdtAddress, ports);
        byte[] xsdt = Xsdt.Build([fadtAddress, madtAddress]);
        memory.Write(new GuestAddress(RsdpAddress), Rsdp.Build(xsdtAddress));
        memory.Write(new GuestAddress(xsdtAddress), xsdt);
        memory.Write(new GuestAddress(fadtAddress), fadt);
        memory.Write(new GuestAddress(dsdtAddress), dsdt);
        memory.Write(new GuestAddress(madtAddress), madt);
        memory.Write(new GuestAddress(facsAddress), Facs.Build());
        return RsdpAddress;
    }

    private static ulong Align(ulong address) => (address + 15) & ~15UL;
}
