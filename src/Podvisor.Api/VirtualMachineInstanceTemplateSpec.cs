using System.Text.Json.Serialization;
using k8s.Models;

namespace Podvisor.Api;

/// <summary>What a VirtualMachine's instances are made from: labels/annotations and the instance spec.</summary>
public sealed class VirtualMachineInstanceTemplateSpec
{
    [JsonPropertyName("metadata")] public V1ObjectMeta? Metadata { get; set; }
    [JsonPropertyName("spec")] public VirtualMachineInstanceSpec? Spec { get; set; }
}
