using System.Text.Json.Serialization;

namespace Podvisor.Api;

public sealed class VirtualMachineInstanceStatus
{
    /// <summary>See <see cref="VmiPhases"/>.</summary>
    [JsonPropertyName("phase")] public string? Phase { get; set; }
    [JsonPropertyName("reason")] public string? Reason { get; set; }
    [JsonPropertyName("nodeName")] public string? NodeName { get; set; }
    [JsonPropertyName("conditions")] public List<Condition>? Conditions { get; set; }
    [JsonPropertyName("interfaces")] public List<InterfaceStatus>? Interfaces { get; set; }
    [JsonPropertyName("migrationState")] public MigrationState? MigrationState { get; set; }
    /// <summary>The launcher pod that runs (or will run) this instance.</summary>
    [JsonPropertyName("activePods")] public Dictionary<string, string>? ActivePods { get; set; }
    [JsonPropertyName("phaseTransitionTimestamps")] public List<PhaseTransition>? PhaseTransitionTimestamps { get; set; }
}
