using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

/// <summary>A guest NIC; <see cref="Name"/> names the network it attaches to. One binding must be set.</summary>
public sealed class Interface
{
    [SchemaRequired, SchemaPattern(ApiPatterns.DnsLabel)] [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("masquerade")] public InterfaceBinding? Masquerade { get; set; }
    [JsonPropertyName("bridge")] public InterfaceBinding? Bridge { get; set; }
    [SchemaPattern(ApiPatterns.MacAddress)] [JsonPropertyName("macAddress")] public string? MacAddress { get; set; }
    /// <summary>Only "virtio".</summary>
    [SchemaValues("virtio")] [JsonPropertyName("model")] public string? Model { get; set; }
}
