using System.Text.Json.Serialization;

namespace Podvisor.Api;

public sealed class DiskTarget
{
    /// <summary>Only "virtio" (virtio-blk over virtio-mmio).</summary>
    [JsonPropertyName("bus")] public string? Bus { get; set; }
    [JsonPropertyName("readonly")] public bool? ReadOnly { get; set; }
}
