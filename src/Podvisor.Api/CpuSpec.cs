using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>vCPU topology: the guest gets sockets × cores × threads vCPUs (each defaults to 1).</summary>
public sealed class CpuSpec
{
    [JsonPropertyName("sockets")] public int? Sockets { get; set; }
    [JsonPropertyName("cores")] public int? Cores { get; set; }
    [JsonPropertyName("threads")] public int? Threads { get; set; }
    /// <summary>CPU model; only "host-passthrough" (what KVM supports, adjusted) is offered today.</summary>
    [JsonPropertyName("model")] public string? Model { get; set; }
}
