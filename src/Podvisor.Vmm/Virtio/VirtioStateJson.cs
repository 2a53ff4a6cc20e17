using System.Text.Json.Serialization;
using Podvisor.Vmm.Devices.Virtio.Balloon;
using Podvisor.Vmm.Devices.Virtio.Net;

namespace Podvisor.Vmm.Virtio;

/// <summary>Source-generated JSON for device state (NativeAOT: no reflection).</summary>
[JsonSerializable(typeof(VirtioMmioState))]
[JsonSerializable(typeof(BalloonState))]
[JsonSerializable(typeof(NetState))]
[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
public sealed partial class VirtioStateJson : JsonSerializerContext;
