using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>
/// Direct kernel boot: the kernel (and initrd) come from a container image (KubeVirt's way) or, a Podvisor
/// extension, from files on the node (<see cref="HostPath"/>; what <c>podvisor run</c> uses). Exactly one.
/// </summary>
public sealed class KernelBoot
{
    /// <summary>The kernel command line.</summary>
    [JsonPropertyName("kernelArgs")] public string? KernelArgs { get; set; }
    [JsonPropertyName("container")] public KernelBootContainer? Container { get; set; }
    [JsonPropertyName("hostPath")] public KernelBootHostPath? HostPath { get; set; }
}
