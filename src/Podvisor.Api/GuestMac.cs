using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Podvisor.Api;

/// <summary>
/// The MAC a guest NIC has: the interface's <c>macAddress</c>, or one derived from the VMI's uid — stable (the
/// same guest keeps it across launcher restarts and migrations), locally administered and unicast, and in
/// practice never shared by two VMIs. The launcher gives the NIC this MAC; the operator reports it in status.
/// </summary>
public static class GuestMac
{
    /// <summary>As Kubernetes objects write MACs: lower-case, colon-separated.</summary>
    public static string Of(Interface nic, string vmiUid) => nic.MacAddress?.ToLowerInvariant() ?? Derived(vmiUid);

    public static string Derived(string vmiUid)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(vmiUid));
        return Format([0x02, hash[0], hash[1], hash[2], hash[3], hash[4]]);
    }

    public static string Format(ReadOnlySpan<byte> mac)
    {
        var text = new StringBuilder(17);
        foreach (byte b in mac) text.Append(text.Length == 0 ? "" : ":").Append(b.ToString("x2", CultureInfo.InvariantCulture));
        return text.ToString();
    }
}
