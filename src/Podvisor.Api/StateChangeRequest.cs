using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>A pending start or stop of a VM (KubeVirt's mechanism for start/stop/restart).</summary>
public sealed class StateChangeRequest
{
    public const string Start = "Start", Stop = "Stop";

    [JsonPropertyName("action")] public string Action { get; set; } = "";
    /// <summary>For Stop: the instance to stop (a restart stops this one and starts a new one).</summary>
    [JsonPropertyName("uid")] public string? Uid { get; set; }
}
