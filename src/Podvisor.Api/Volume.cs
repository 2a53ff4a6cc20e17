using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

/// <summary>Where a disk's bytes come from: exactly one source.</summary>
public sealed class Volume
{
    [SchemaRequired, SchemaPattern(ApiPatterns.DnsLabel)] [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("containerDisk")] public ContainerDiskSource? ContainerDisk { get; set; }
    [JsonPropertyName("persistentVolumeClaim")] public PersistentVolumeClaimSource? PersistentVolumeClaim { get; set; }
    [JsonPropertyName("emptyDisk")] public EmptyDiskSource? EmptyDisk { get; set; }
    [JsonPropertyName("hostDisk")] public HostDiskSource? HostDisk { get; set; }
    [JsonPropertyName("cloudInitNoCloud")] public CloudInitNoCloudSource? CloudInitNoCloud { get; set; }

    /// <summary>How many sources are set (valid: exactly one).</summary>
    [JsonIgnore]
    public int SourceCount =>
        (ContainerDisk is null ? 0 : 1) + (PersistentVolumeClaim is null ? 0 : 1) + (EmptyDisk is null ? 0 : 1)
        + (HostDisk is null ? 0 : 1) + (CloudInitNoCloud is null ? 0 : 1);
}
