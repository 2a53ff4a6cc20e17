namespace Podvisor.Vmm.Acpi;

/// <summary>A device's MMIO window and its interrupt line (an IOAPIC pin), as the ACPI tables describe it.</summary>
public readonly record struct MmioDeviceWindow(uint Base, uint Size, uint Irq);
