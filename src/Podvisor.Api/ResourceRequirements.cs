using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

/// <summary>Requests and limits of the launcher pod, as quantities by resource name ("memory", "cpu").</summary>
public sealed class ResourceRequirements
{
    [SchemaQuantity] [JsonPropertyName("requests")] public Dictionary<string, string>? Requests { get; set; }
    [SchemaQuantity] [JsonPropertyName("limits")] public Dictionary<string, string>? Limits { get; set; }
    /// <summary>Do not add the VMM's own overhead to the pod's memory request.</summary>
    [JsonPropertyName("overcommitGuestOverhead")] public bool? OvercommitGuestOverhead { get; set; }
}
