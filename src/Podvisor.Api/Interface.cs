using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>A guest NIC; <see cref="Name"/> names the network it attaches to. One binding must be set.</summary>
public sealed class Interface
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("masquerade")] public InterfaceBinding? Masquerade { get; set; }
    [JsonPropertyName("bridge")] public InterfaceBinding? Bridge { get; set; }
    [JsonPropertyName("macAddress")] public string? MacAddress { get; set; }
    /// <summary>Only "virtio".</summary>
    [JsonPropertyName("model")] public string? Model { get; set; }
}
