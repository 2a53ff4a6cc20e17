using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

public sealed class Hugepages
{
    /// <summary>"2Mi" or "1Gi".</summary>
    [SchemaValues("2Mi", "1Gi")] [JsonPropertyName("pageSize")] public string? PageSize { get; set; }
}
