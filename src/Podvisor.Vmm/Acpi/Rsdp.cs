using System.Buffers.Binary;
using System.Text;

namespace Podvisor.Vmm.Acpi;

/// <summary>
/// The Root System Description Pointer (ACPI 2.0+, 36 bytes): "RSD PTR ", with the first 20 bytes and
/// the whole structure each checksummed, pointing at the XSDT. Linux scans 0xE0000–0xFFFFF for it.
/// </summary>
public static class Rsdp
{
    public const int Length = 36;

    public static byte[] Build(ulong xsdtAddress)
    {
        var rsdp = new byte[Length];
        "RSD PTR "u8.CopyTo(rsdp);
        Encoding.ASCII.GetBytes(SystemDescriptionTable.OemId).CopyTo(rsdp, 9);
        rsdp[15] = 2;                                        // revision: ACPI 2.0+ (has the XSDT)
        // 16: RSDT address stays 0; a 64-bit guest uses the XSDT.
        BinaryPrimitives.WriteUInt32LittleEndian(rsdp.AsSpan(20), Length);
        BinaryPrimitives.WriteUInt64LittleEndian(rsdp.AsSpan(24), xsdtAddress);
        rsdp[8] = Checksum.Of(rsdp.AsSpan(0, 20));
        rsdp[32] = Checksum.Of(rsdp);
        return rsdp;
    }
}
