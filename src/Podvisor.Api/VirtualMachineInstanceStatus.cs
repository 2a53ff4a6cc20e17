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
    /// <summary>
    /// The node this VM must leave because it is being drained, while it runs there (KubeVirt's field): set for the
    /// evictionStrategies that hold a drain (LiveMigrate, LiveMigrateIfPossible, External), for whoever moves the VM —
    /// Podvisor itself, or with External a controller of the user's. Written by the operator only.
    /// </summary>
    [JsonPropertyName("evacuationNodeName")] public string? EvacuationNodeName { get; set; }
    /// <summary>The launcher pod that runs (or will run) this instance.</summary>
    [JsonPropertyName("activePods")] public Dictionary<string, string>? ActivePods { get; set; }
    [JsonPropertyName("phaseTransitionTimestamps")] public List<PhaseTransition>? PhaseTransitionTimestamps { get; set; }
}
