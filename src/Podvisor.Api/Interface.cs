using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

/// <summary>A guest NIC; <see cref="Name"/> names the network it attaches to. One binding must be set.</summary>
public sealed class Interface
{
    [SchemaRequired, SchemaPattern("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")] [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("masquerade")] public InterfaceBinding? Masquerade { get; set; }
    [JsonPropertyName("bridge")] public InterfaceBinding? Bridge { get; set; }
    [SchemaPattern("^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$")] [JsonPropertyName("macAddress")] public string? MacAddress { get; set; }
    /// <summary>Only "virtio".</summary>
    [SchemaValues("virtio")] [JsonPropertyName("model")] public string? Model { get; set; }
}
