using System.Text.Json.Serialization;

namespace Podvisor.Api;

public sealed class Network
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("pod")] public PodNetwork? Pod { get; set; }
}
