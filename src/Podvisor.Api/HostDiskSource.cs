using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

/// <summary>A disk image file on the node (KubeVirt's hostDisk).</summary>
public sealed class HostDiskSource
{
    [SchemaRequired] [JsonPropertyName("path")] public string? Path { get; set; }
    /// <summary>"Disk" (must exist) or "DiskOrCreate" (created sparse with <see cref="Capacity"/>).</summary>
    [SchemaRequired, SchemaValues("Disk", "DiskOrCreate")] [JsonPropertyName("type")] public string? Type { get; set; }
    [SchemaQuantity] [JsonPropertyName("capacity")] public string? Capacity { get; set; }
}
