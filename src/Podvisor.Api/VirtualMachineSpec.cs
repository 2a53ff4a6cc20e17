using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

public sealed class VirtualMachineSpec
{
    /// <summary>When the VM runs: one of <see cref="RunStrategies"/>. Defaults from <see cref="Running"/>, else Halted.</summary>
    [SchemaEnum(typeof(RunStrategies))] [JsonPropertyName("runStrategy")] public string? RunStrategy { get; set; }

    /// <summary>KubeVirt's older switch (true = Always, false = Halted); mutually exclusive with runStrategy.</summary>
    [JsonPropertyName("running")] public bool? Running { get; set; }

    /// <summary>The instance this VM starts each time it runs.</summary>
    [SchemaRequired] [JsonPropertyName("template")] public VirtualMachineInstanceTemplateSpec? Template { get; set; }
}
