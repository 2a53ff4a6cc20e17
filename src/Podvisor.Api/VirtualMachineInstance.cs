using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Podvisor.Api;

/// <summary>A running (or about to run) VM: one launcher pod runs it on one node at a time.</summary>
[KubernetesEntity(Group = ApiGroup.Group, ApiVersion = ApiGroup.Version, Kind = KindName, PluralName = "virtualmachineinstances")]
public sealed class VirtualMachineInstance : IKubernetesObject<V1ObjectMeta>, ISpec<VirtualMachineInstanceSpec>, IStatus<VirtualMachineInstanceStatus?>
{
    public const string KindName = "VirtualMachineInstance";

    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = ApiGroup.ApiVersion;
    [JsonPropertyName("kind")] public string Kind { get; set; } = KindName;
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public VirtualMachineInstanceSpec Spec { get; set; } = new();
    [JsonPropertyName("status")] public VirtualMachineInstanceStatus? Status { get; set; }
}
