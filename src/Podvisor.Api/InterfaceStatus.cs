using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>A guest NIC as observed: its addresses.</summary>
public sealed class InterfaceStatus
{
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("ipAddress")] public string? IpAddress { get; set; }
    [JsonPropertyName("ipAddresses")] public List<string>? IpAddresses { get; set; }
    [JsonPropertyName("mac")] public string? Mac { get; set; }
    [JsonPropertyName("interfaceName")] public string? InterfaceName { get; set; }
}
