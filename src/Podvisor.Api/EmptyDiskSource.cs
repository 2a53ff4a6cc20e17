using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

/// <summary>A blank, sparse disk of the given capacity that lives as long as the VMI.</summary>
public sealed class EmptyDiskSource
{
    [SchemaRequired, SchemaQuantity] [JsonPropertyName("capacity")] public string? Capacity { get; set; }
}
