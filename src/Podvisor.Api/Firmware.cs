using System.Text.Json.Serialization;

namespace Podvisor.Api;

public sealed class Firmware
{
    [JsonPropertyName("uuid")] public string? Uuid { get; set; }
    [JsonPropertyName("serial")] public string? Serial { get; set; }
    /// <summary>Boot a Linux kernel directly (the only boot method today: there is no BIOS/UEFI).</summary>
    [JsonPropertyName("kernelBoot")] public KernelBoot? KernelBoot { get; set; }
}
