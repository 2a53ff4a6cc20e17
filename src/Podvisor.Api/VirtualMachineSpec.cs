using System.Text.Json.Serialization;

namespace Podvisor.Api;

public sealed class VirtualMachineSpec
{
    /// <summary>When the VM runs: one of <see cref="RunStrategies"/>. Defaults from <see cref="Running"/>, else Halted.</summary>
    [JsonPropertyName("runStrategy")] public string? RunStrategy { get; set; }

    /// <summary>KubeVirt's older switch (true = Always, false = Halted); mutually exclusive with runStrategy.</summary>
    [JsonPropertyName("running")] public bool? Running { get; set; }

    /// <summary>The instance this VM starts each time it runs.</summary>
    [JsonPropertyName("template")] public VirtualMachineInstanceTemplateSpec? Template { get; set; }
}
