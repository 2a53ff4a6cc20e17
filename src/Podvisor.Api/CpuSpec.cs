using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

/// <summary>vCPU topology: the guest gets sockets × cores × threads vCPUs (each defaults to 1).</summary>
public sealed class CpuSpec
{
    [SchemaMinimum(1)] [JsonPropertyName("sockets")] public int? Sockets { get; set; }
    [SchemaMinimum(1)] [JsonPropertyName("cores")] public int? Cores { get; set; }
    [SchemaMinimum(1)] [JsonPropertyName("threads")] public int? Threads { get; set; }
    /// <summary>CPU model; only "host-passthrough" (what KVM supports, adjusted) is offered today.</summary>
    [SchemaValues("host-passthrough", "host-model")] [JsonPropertyName("model")] public string? Model { get; set; }
}
