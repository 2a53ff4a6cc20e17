using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>A status condition (type, True/False/Unknown, why), as every Kubernetes API has them.</summary>
public sealed class Condition
{
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    [JsonPropertyName("status")] public string Status { get; set; } = "Unknown";
    [JsonPropertyName("reason")] public string? Reason { get; set; }
    [JsonPropertyName("message")] public string? Message { get; set; }
    [JsonPropertyName("lastTransitionTime")] public DateTimeOffset? LastTransitionTime { get; set; }
    [JsonPropertyName("lastProbeTime")] public DateTimeOffset? LastProbeTime { get; set; }
}
