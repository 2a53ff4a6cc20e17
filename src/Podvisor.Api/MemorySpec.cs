using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

public sealed class MemorySpec
{
    /// <summary>Guest RAM as a Kubernetes quantity ("256Mi", "1Gi"). Defaults to resources.requests.memory.</summary>
    [SchemaQuantity] [JsonPropertyName("guest")] public string? Guest { get; set; }
    [JsonPropertyName("hugepages")] public Hugepages? Hugepages { get; set; }
}
