using System.Text.Json.Serialization;
using Podvisor.Api.Schema;
using k8s.Models;

namespace Podvisor.Api;

public sealed class VirtualMachineInstanceSpec
{
    [SchemaRequired] [JsonPropertyName("domain")] public DomainSpec? Domain { get; set; }
    [JsonPropertyName("volumes")] public List<Volume>? Volumes { get; set; }
    [JsonPropertyName("networks")] public List<Network>? Networks { get; set; }
    /// <summary>What a node drain does to this VM: see <see cref="EvictionStrategies"/>.</summary>
    [SchemaEnum(typeof(EvictionStrategies))] [JsonPropertyName("evictionStrategy")] public string? EvictionStrategy { get; set; }
    [JsonPropertyName("nodeSelector")] public Dictionary<string, string>? NodeSelector { get; set; }
    [JsonPropertyName("affinity")] public V1Affinity? Affinity { get; set; }
    [JsonPropertyName("tolerations")] public List<V1Toleration>? Tolerations { get; set; }
    [SchemaMinimum(0)] [JsonPropertyName("terminationGracePeriodSeconds")] public long? TerminationGracePeriodSeconds { get; set; }
    [JsonPropertyName("hostname")] public string? Hostname { get; set; }
    [JsonPropertyName("subdomain")] public string? Subdomain { get; set; }
}
