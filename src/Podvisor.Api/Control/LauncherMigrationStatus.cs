using System.Text.Json.Serialization;

namespace Podvisor.Api.Control;

/// <summary>
/// A launcher's side of a migration, as <c>GET /v1/migration</c> reports it and, on a source that handed its VM
/// over, as the compute container's termination message says it (the process ends right after). Role is
/// <see cref="Source"/> or <see cref="Target"/>; phase one of <see cref="LauncherMigrationPhases"/>; a target gives
/// the port it listens on; a source says whether it handed the VM over (then it never runs there again, whatever
/// happened next).
/// </summary>
public sealed record LauncherMigrationStatus(
    [property: JsonPropertyName("migrationUid")] string? MigrationUid,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("phase")] string Phase,
    [property: JsonPropertyName("startTimestamp")] DateTimeOffset? StartTimestamp = null,
    [property: JsonPropertyName("endTimestamp")] DateTimeOffset? EndTimestamp = null,
    [property: JsonPropertyName("port")] int? Port = null,
    [property: JsonPropertyName("bytesTransferred")] long? BytesTransferred = null,
    [property: JsonPropertyName("remainingBytes")] long? RemainingBytes = null,
    [property: JsonPropertyName("iterations")] int? Iterations = null,
    [property: JsonPropertyName("throttlePercent")] int? ThrottlePercent = null,
    [property: JsonPropertyName("downtimeMilliseconds")] double? DowntimeMilliseconds = null,
    [property: JsonPropertyName("totalMilliseconds")] double? TotalMilliseconds = null,
    [property: JsonPropertyName("failureReason")] string? FailureReason = null,
    [property: JsonPropertyName("handedOver")] bool? HandedOver = null)
{
    public const string Source = "Source", Target = "Target";
}
