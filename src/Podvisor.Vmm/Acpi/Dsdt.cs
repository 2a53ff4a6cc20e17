namespace Podvisor.Vmm.Acpi;

/// <summary>
/// The Differentiated System Description Table: AML that declares the S5 (soft-off) sleep state, which is
/// what makes Linux install its ACPI poweroff. Nothing else: the microVM's devices are found by the
/// kernel command line (virtio-mmio) and legacy probing.
/// </summary>
public static class Dsdt
{
    /// <summary>The SLP_TYP value of S5; the guest writes it (shifted) to the sleep control register.</summary>
    public const byte S5SleepType = 5;

    private const byte NameOp = 0x08, PackageOp = 0x12, BytePrefix = 0x0a, ZeroOp = 0x00;

    public static byte[] Build()
    {
        // Name (_S5_, Package (0x04) { 5, 0, 0, 0 }): SLP_TYPa, SLP_TYPb and two reserved elements.
        byte[] elements = [BytePrefix, S5SleepType, ZeroOp, ZeroOp, ZeroOp];
        byte packageLength = (byte)(1 + 1 + elements.Length);  // PkgLength counts itself and NumElements
        var t = new SystemDescriptionTable("DSDT", revision: 2);
        t.AppendByte(NameOp).Append("_S5_"u8).AppendByte(PackageOp).AppendByte(packageLength).AppendByte(4).Append(elements);
        return t.Build();
    }
}
