namespace Podvisor.Vmm.Acpi;

/// <summary>The byte that makes a structure's bytes sum to zero (ACPI and the MP specification both use it).</summary>
public static class Checksum
{
    public static byte Of(ReadOnlySpan<byte> bytes)
    {
        int sum = 0;
        foreach (byte b in bytes) sum += b;
        return (byte)(-sum & 0xff);
    }

    public static bool IsValid(ReadOnlySpan<byte> bytes)
    {
        int sum = 0;
        foreach (byte b in bytes) sum += b;
        return (sum & 0xff) == 0;
    }
}
