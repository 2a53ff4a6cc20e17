using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>A disk image file on the node (KubeVirt's hostDisk).</summary>
public sealed class HostDiskSource
{
    [JsonPropertyName("path")] public string? Path { get; set; }
    /// <summary>"Disk" (must exist) or "DiskOrCreate" (created sparse with <see cref="Capacity"/>).</summary>
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("capacity")] public string? Capacity { get; set; }
}
