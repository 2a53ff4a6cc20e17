using System.Text.Json.Serialization;

namespace Podvisor.Api;

public sealed class Devices
{
    [JsonPropertyName("disks")] public List<Disk>? Disks { get; set; }
    [JsonPropertyName("interfaces")] public List<Interface>? Interfaces { get; set; }
    /// <summary>A virtio-rng device when present (an empty object).</summary>
    [JsonPropertyName("rng")] public Rng? Rng { get; set; }
    /// <summary>A virtio-balloon device (default true).</summary>
    [JsonPropertyName("autoattachMemBalloon")] public bool? AutoattachMemBalloon { get; set; }
    /// <summary>The serial console on COM1 (default true).</summary>
    [JsonPropertyName("autoattachSerialConsole")] public bool? AutoattachSerialConsole { get; set; }
    /// <summary>A virtio-vsock device (KubeVirt's field name).</summary>
    [JsonPropertyName("autoattachVSOCK")] public bool? AutoattachVsock { get; set; }
}
