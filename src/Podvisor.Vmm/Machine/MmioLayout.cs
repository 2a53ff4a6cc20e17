using Podvisor.Vmm.Boot;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Machine;

/// <summary>
/// Where virtio-mmio devices go: 4 KiB windows from the start of the MMIO hole, each with an ISA IRQ the
/// MP and ACPI tables already route to the IOAPIC (edge, active high — what irqfd's pulse needs). The guest
/// learns them from the DSDT (<see cref="Acpi.Dsdt"/>), or, when its command line turns ACPI off, from
/// <c>virtio_mmio.device=4K@base:irq</c> entries added to it — QEMU's microvm machine does the same: both at
/// once would make a kernel that reads both claim each window twice.
/// </summary>
public static class MmioLayout
{
    /// <summary>ISA IRQs nobody else uses (0 PIT, 1 keyboard, 2 cascade, 3/4 serial, 8 RTC, 9 ACPI SCI).</summary>
    private static readonly uint[] FreeIrqs = [5, 6, 7, 10, 11, 12, 13, 14, 15];

    public static int MaxDevices => FreeIrqs.Length;

    public static ulong BaseOf(int slot) => BootLayout.MmioStart + (ulong)slot * VirtioMmioTransport.WindowSize;

    public static uint IrqOf(int slot) => FreeIrqs[slot];

    public static string CommandLineOf(int slot) => $"virtio_mmio.device=4K@0x{BaseOf(slot):x}:{IrqOf(slot)}";

    public static Acpi.MmioDeviceWindow WindowOf(int slot) => new((uint)BaseOf(slot), (uint)VirtioMmioTransport.WindowSize, IrqOf(slot));

    /// <summary>Whether the guest's command line turns ACPI off (the last <c>acpi=</c> wins, as in the kernel's parser).</summary>
    public static bool AcpiOff(string commandLine) =>
        commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(w => w.StartsWith("acpi=", StringComparison.Ordinal)) == "acpi=off";
}
