using System.Text.Json.Serialization;

namespace Podvisor.Api;

public sealed class VirtualMachineStatus
{
    /// <summary>One word for people: see <see cref="PrintableStatuses"/>.</summary>
    [JsonPropertyName("printableStatus")] public string? PrintableStatus { get; set; }
    /// <summary>True once the VM's instance exists.</summary>
    [JsonPropertyName("created")] public bool? Created { get; set; }
    /// <summary>True while the VM's instance is running and ready.</summary>
    [JsonPropertyName("ready")] public bool? Ready { get; set; }
    [JsonPropertyName("conditions")] public List<Condition>? Conditions { get; set; }
    /// <summary>Start/stop requests not yet carried out (the operator consumes them).</summary>
    [JsonPropertyName("stateChangeRequests")] public List<StateChangeRequest>? StateChangeRequests { get; set; }
    [JsonPropertyName("observedGeneration")] public long? ObservedGeneration { get; set; }
}
