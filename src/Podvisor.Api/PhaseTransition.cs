using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>When a resource entered a phase.</summary>
public sealed class PhaseTransition
{
    [JsonPropertyName("phase")] public string Phase { get; set; } = "";
    [JsonPropertyName("phaseTransitionTimestamp")] public DateTimeOffset PhaseTransitionTimestamp { get; set; }
}
