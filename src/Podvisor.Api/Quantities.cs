using k8s.Models;

namespace Podvisor.Api;

/// <summary>Kubernetes quantities ("256Mi", "1Gi", "1.5G", "1e9") as byte counts.</summary>
public static class Quantities
{
    public const ulong MiB = 1UL << 20;

    public static bool TryParseBytes(string? text, out ulong bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text)) return false;
        decimal value;
        try
        {
            value = new ResourceQuantity(text.Trim()).ToDecimal();
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            return false;
        }
        if (value < 0 || value > ulong.MaxValue || value != decimal.Truncate(value)) return false;
        bytes = (ulong)value;
        return true;
    }
}
