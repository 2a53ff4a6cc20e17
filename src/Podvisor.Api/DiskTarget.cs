using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

public sealed class DiskTarget
{
    /// <summary>Only "virtio" (virtio-blk over virtio-mmio).</summary>
    [SchemaValues("virtio")] [JsonPropertyName("bus")] public string? Bus { get; set; }
    [JsonPropertyName("readonly")] public bool? ReadOnly { get; set; }
}
