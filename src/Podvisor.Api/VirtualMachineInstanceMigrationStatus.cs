using System.Text.Json.Serialization;

namespace Podvisor.Api;

public sealed class VirtualMachineInstanceMigrationStatus
{
    /// <summary>See <see cref="MigrationPhases"/>.</summary>
    [JsonPropertyName("phase")] public string? Phase { get; set; }
    [JsonPropertyName("phaseTransitionTimestamps")] public List<PhaseTransition>? PhaseTransitionTimestamps { get; set; }
    [JsonPropertyName("conditions")] public List<Condition>? Conditions { get; set; }
    /// <summary>How long the guest was paused for the final copy (what live migration competes on).</summary>
    [JsonPropertyName("downtimeMilliseconds")] public double? DowntimeMilliseconds { get; set; }
    [JsonPropertyName("bytesTransferred")] public long? BytesTransferred { get; set; }
    /// <summary>What the source still has to send as last reported: the rest of the first pass, then the pages dirtied
    /// since the last round (it can grow again while the guest writes).</summary>
    [JsonPropertyName("remainingBytes")] public long? RemainingBytes { get; set; }
    /// <summary>Pre-copy rounds before the final stop-and-copy.</summary>
    [JsonPropertyName("iterations")] public int? Iterations { get; set; }
}
