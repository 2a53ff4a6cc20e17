using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

/// <summary>A disk image inside a container image (ephemeral: writes are lost when the VM stops).</summary>
public sealed class ContainerDiskSource
{
    [SchemaRequired] [JsonPropertyName("image")] public string? Image { get; set; }
    [JsonPropertyName("path")] public string? Path { get; set; }
    [JsonPropertyName("imagePullPolicy")] public string? ImagePullPolicy { get; set; }
}
