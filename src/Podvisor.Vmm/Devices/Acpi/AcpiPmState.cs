namespace Podvisor.Vmm.Devices.Acpi;

/// <summary>An <see cref="AcpiPowerManagement"/>'s PM1 status, enable and control registers.</summary>
public sealed record AcpiPmState(ushort Status, ushort Enable, ushort Control);
