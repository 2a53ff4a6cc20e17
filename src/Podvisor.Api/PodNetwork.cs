using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>The pod's own network.</summary>
public sealed class PodNetwork
{
    /// <summary>The guest-side subnet behind masquerade (default 10.0.2.0/24).</summary>
    [JsonPropertyName("vmNetworkCIDR")] public string? VmNetworkCidr { get; set; }

    public const string DefaultVmNetworkCidr = "10.0.2.0/24";

    /// <summary>Whether <paramref name="cidr"/> is an IPv4 subnet with room for the gateway (.1), the guest (.2) and a
    /// broadcast address: a prefix of at most 30.</summary>
    public static bool TryParseVmSubnet(string cidr, out System.Net.IPAddress network, out int prefixLength)
    {
        network = System.Net.IPAddress.None;
        prefixLength = 0;
        if (!System.Net.IPNetwork.TryParse(cidr, out var parsed) || parsed.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
            || parsed.PrefixLength > 30) return false;
        network = parsed.BaseAddress;
        prefixLength = parsed.PrefixLength;
        return true;
    }
}
