using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>A blank, sparse disk of the given capacity that lives as long as the VMI.</summary>
public sealed class EmptyDiskSource
{
    [JsonPropertyName("capacity")] public string? Capacity { get; set; }
}
