using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

/// <summary>A pending start or stop of a VM (KubeVirt's mechanism for start/stop/restart).</summary>
public sealed class StateChangeRequest
{
    public const string Start = "Start", Stop = "Stop";

    [SchemaValues(Start, Stop)] [JsonPropertyName("action")] public string Action { get; set; } = "";
    /// <summary>For Stop: the instance to stop (a restart stops this one and starts a new one).</summary>
    [JsonPropertyName("uid")] public string? Uid { get; set; }
}
