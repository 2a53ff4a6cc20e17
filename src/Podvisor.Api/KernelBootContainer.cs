using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

/// <summary>A container image that holds the kernel and initrd at the given paths.</summary>
public sealed class KernelBootContainer
{
    [SchemaRequired] [JsonPropertyName("image")] public string? Image { get; set; }
    [SchemaRequired] [JsonPropertyName("kernelPath")] public string? KernelPath { get; set; }
    [JsonPropertyName("initrdPath")] public string? InitrdPath { get; set; }
    [JsonPropertyName("imagePullPolicy")] public string? ImagePullPolicy { get; set; }
    [JsonPropertyName("imagePullSecret")] public string? ImagePullSecret { get; set; }
}
