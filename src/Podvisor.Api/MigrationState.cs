using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>The instance's latest live migration, as the VMI reports it.</summary>
public sealed class MigrationState
{
    [JsonPropertyName("migrationUid")] public string? MigrationUid { get; set; }
    [JsonPropertyName("sourceNode")] public string? SourceNode { get; set; }
    [JsonPropertyName("sourcePod")] public string? SourcePod { get; set; }
    [JsonPropertyName("targetNode")] public string? TargetNode { get; set; }
    [JsonPropertyName("targetPod")] public string? TargetPod { get; set; }
    [JsonPropertyName("targetNodeAddress")] public string? TargetNodeAddress { get; set; }
    [JsonPropertyName("startTimestamp")] public DateTimeOffset? StartTimestamp { get; set; }
    [JsonPropertyName("endTimestamp")] public DateTimeOffset? EndTimestamp { get; set; }
    [JsonPropertyName("completed")] public bool? Completed { get; set; }
    [JsonPropertyName("failed")] public bool? Failed { get; set; }
    [JsonPropertyName("failureReason")] public string? FailureReason { get; set; }
    [JsonPropertyName("abortRequested")] public bool? AbortRequested { get; set; }
    [JsonPropertyName("abortStatus")] public string? AbortStatus { get; set; }
    [JsonPropertyName("mode")] public string? Mode { get; set; }
}
