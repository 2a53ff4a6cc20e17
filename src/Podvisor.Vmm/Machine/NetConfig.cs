using Podvisor.Vmm.Devices.Virtio.Net;

namespace Podvisor.Vmm.Machine;

/// <summary>A virtio-net interface on a host TAP device (created, or attached if it exists), with its MAC
/// (a random locally administered one when not given).</summary>
public sealed record NetConfig(string TapName, MacAddress? Mac = null);
