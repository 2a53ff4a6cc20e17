using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>A container image that holds the kernel and initrd at the given paths.</summary>
public sealed class KernelBootContainer
{
    [JsonPropertyName("image")] public string? Image { get; set; }
    [JsonPropertyName("kernelPath")] public string? KernelPath { get; set; }
    [JsonPropertyName("initrdPath")] public string? InitrdPath { get; set; }
    [JsonPropertyName("imagePullPolicy")] public string? ImagePullPolicy { get; set; }
    [JsonPropertyName("imagePullSecret")] public string? ImagePullSecret { get; set; }
}
