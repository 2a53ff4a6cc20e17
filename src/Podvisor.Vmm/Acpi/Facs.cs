using System.Buffers.Binary;

namespace Podvisor.Vmm.Acpi;

/// <summary>
/// The Firmware ACPI Control Structure (64 bytes, no checksum): a platform with fixed hardware must have
/// one; ours only carries the global lock (free) and no waking vector (no S3).
/// </summary>
public static class Facs
{
    public const int Length = 64, Alignment = 64;

    public static byte[] Build()
    {
        var facs = new byte[Length];
        "FACS"u8.CopyTo(facs);
        BinaryPrimitives.WriteUInt32LittleEndian(facs.AsSpan(4), Length);
        facs[32] = 2;                                        // version
        return facs;
    }
}
