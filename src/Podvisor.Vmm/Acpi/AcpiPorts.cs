namespace Podvisor.Vmm.Acpi;

/// <summary>
/// The I/O ports of the fixed ACPI registers the FADT advertises, laid out from one base port:
/// PM1a event block (status, enable: 4 bytes), PM1a control block (2 bytes), reset register (1 byte).
/// </summary>
public sealed record AcpiPorts(ushort EventBlock, ushort ControlBlock, ushort Reset)
{
    public const byte EventBlockLength = 4, ControlBlockLength = 2;
    public const ushort Count = EventBlockLength + ControlBlockLength + 1;

    /// <summary>What the guest writes to the reset register to reset the machine.</summary>
    public const byte ResetValue = 0x01;

    public static AcpiPorts From(ushort basePort) =>
        new(basePort, (ushort)(basePort + EventBlockLength), (ushort)(basePort + EventBlockLength + ControlBlockLength));
}
