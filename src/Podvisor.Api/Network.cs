using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

public sealed class Network
{
    [SchemaRequired, SchemaPattern(ApiPatterns.DnsLabel)] [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("pod")] public PodNetwork? Pod { get; set; }
}
