using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

public sealed class Network
{
    [SchemaRequired, SchemaPattern("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")] [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("pod")] public PodNetwork? Pod { get; set; }
}
