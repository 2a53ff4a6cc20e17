using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>The virtual hardware: CPUs, memory, firmware (how it boots) and devices.</summary>
public sealed class DomainSpec
{
    [JsonPropertyName("cpu")] public CpuSpec? Cpu { get; set; }
    [JsonPropertyName("memory")] public MemorySpec? Memory { get; set; }
    [JsonPropertyName("resources")] public ResourceRequirements? Resources { get; set; }
    [JsonPropertyName("firmware")] public Firmware? Firmware { get; set; }
    [JsonPropertyName("devices")] public Devices? Devices { get; set; }
}
