using System.Text.Json.Serialization;
using k8s.Models;

namespace Podvisor.Operator.Runtime;

/// <summary>A list response of any resource: its items and the list's resourceVersion to watch from.</summary>
public sealed class ResourceList<T>
{
    [JsonPropertyName("metadata")] public V1ListMeta? Metadata { get; set; }
    [JsonPropertyName("items")] public List<T> Items { get; set; } = [];
}
