using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

/// <summary>A PersistentVolumeClaim holding a disk image (or a block device).</summary>
public sealed class PersistentVolumeClaimSource
{
    [SchemaRequired] [JsonPropertyName("claimName")] public string? ClaimName { get; set; }
    [JsonPropertyName("readOnly")] public bool? ReadOnly { get; set; }
}
