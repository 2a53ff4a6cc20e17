using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>The pod's own network.</summary>
public sealed class PodNetwork
{
    /// <summary>The guest-side subnet behind masquerade (default 10.0.2.0/24).</summary>
    [JsonPropertyName("vmNetworkCIDR")] public string? VmNetworkCidr { get; set; }
}
