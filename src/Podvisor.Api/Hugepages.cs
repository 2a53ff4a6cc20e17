using System.Text.Json.Serialization;

namespace Podvisor.Api;

public sealed class Hugepages
{
    /// <summary>"2Mi" or "1Gi".</summary>
    [JsonPropertyName("pageSize")] public string? PageSize { get; set; }
}
