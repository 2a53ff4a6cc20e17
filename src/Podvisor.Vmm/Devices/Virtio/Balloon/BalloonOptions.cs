namespace Podvisor.Vmm.Devices.Virtio.Balloon;

/// <summary>What the balloon offers the guest.</summary>
/// <param name="DeflateOnOom">The guest may take pages back from the balloon before its OOM killer runs.</param>
/// <param name="FreePageReporting">The guest reports pages it freed; the host takes them back (RSS follows the
/// guest's real use, not its peak).</param>
public sealed record BalloonOptions(bool DeflateOnOom = true, bool FreePageReporting = true);
