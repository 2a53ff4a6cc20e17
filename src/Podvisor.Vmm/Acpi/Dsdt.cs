namespace Podvisor.Vmm.Acpi;

/// <summary>
/// The Differentiated System Description Table: the S5 (soft-off) sleep state, which is what makes Linux
/// install its ACPI poweroff, and one <c>LNRO0005</c> device per virtio-mmio window under <c>\_SB_</c> — how a
/// kernel without <c>CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES</c> (Debian's and most distributions') finds them, as
/// with QEMU's microvm machine and Firecracker. Legacy devices are found by probing.
/// </summary>
public static class Dsdt
{
    /// <summary>The SLP_TYP value of S5; the guest writes it (shifted) to the sleep control register.</summary>
    public const byte S5SleepType = 5;

    /// <summary>The ACPI id Linux's virtio_mmio driver matches.</summary>
    public const string VirtioMmioHardwareId = "LNRO0005";

    public static byte[] Build(IReadOnlyList<MmioDeviceWindow>? virtioDevices = null)
    {
        var t = new SystemDescriptionTable("DSDT", revision: 2);
        // Name (_S5_, Package (0x04) { 5, 0, 0, 0 }): SLP_TYPa, SLP_TYPb and two reserved elements.
        t.Append(Aml.Name("_S5_", Aml.Package(Aml.Integer(S5SleepType), Aml.Integer(0), Aml.Integer(0), Aml.Integer(0))));
        if (virtioDevices is { Count: > 0 })
            t.Append(Aml.Scope("_SB_", [.. virtioDevices.Select((d, i) => VirtioMmioDevice(i, d))]));
        return t.Build();
    }

    private static byte[] VirtioMmioDevice(int index, MmioDeviceWindow window) =>
        Aml.Device($"V{index:D3}",
            Aml.Name("_HID", Aml.String(VirtioMmioHardwareId)),
            Aml.Name("_UID", Aml.Integer((uint)index)),
            Aml.Name("_CRS", Aml.ResourceTemplate(Aml.Memory32Fixed(window.Base, window.Size), Aml.EdgeInterrupt(window.Irq))));
}
