using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

/// <summary>
/// Kernel and initrd as files on the node (Podvisor extension). With <c>podvisor run</c>, relative paths
/// are relative to the manifest's folder.
/// </summary>
public sealed class KernelBootHostPath
{
    [SchemaRequired] [JsonPropertyName("kernelPath")] public string? KernelPath { get; set; }
    [JsonPropertyName("initrdPath")] public string? InitrdPath { get; set; }
}
