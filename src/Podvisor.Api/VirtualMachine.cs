using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Podvisor.Api;

/// <summary>A virtual machine that exists whether or not it runs; <c>spec.runStrategy</c> says when it does.</summary>
[KubernetesEntity(Group = ApiGroup.Group, ApiVersion = ApiGroup.Version, Kind = KindName, PluralName = "virtualmachines")]
public sealed class VirtualMachine : IKubernetesObject<V1ObjectMeta>, ISpec<VirtualMachineSpec>, IStatus<VirtualMachineStatus?>
{
    public const string KindName = "VirtualMachine";

    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = ApiGroup.ApiVersion;
    [JsonPropertyName("kind")] public string Kind { get; set; } = KindName;
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public VirtualMachineSpec Spec { get; set; } = new();
    [JsonPropertyName("status")] public VirtualMachineStatus? Status { get; set; }
}
