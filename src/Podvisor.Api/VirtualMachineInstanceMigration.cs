using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Podvisor.Api;

/// <summary>A request to live-migrate one running instance to another node.</summary>
[KubernetesEntity(Group = ApiGroup.Group, ApiVersion = ApiGroup.Version, Kind = KindName, PluralName = "virtualmachineinstancemigrations")]
public sealed class VirtualMachineInstanceMigration : IKubernetesObject<V1ObjectMeta>, ISpec<VirtualMachineInstanceMigrationSpec>,
    IStatus<VirtualMachineInstanceMigrationStatus?>
{
    public const string KindName = "VirtualMachineInstanceMigration";

    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = ApiGroup.ApiVersion;
    [JsonPropertyName("kind")] public string Kind { get; set; } = KindName;
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public VirtualMachineInstanceMigrationSpec Spec { get; set; } = new();
    [JsonPropertyName("status")] public VirtualMachineInstanceMigrationStatus? Status { get; set; }
}
