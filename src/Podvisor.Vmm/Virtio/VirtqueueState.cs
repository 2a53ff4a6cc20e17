namespace Podvisor.Vmm.Virtio;

/// <summary>Everything about one split virtqueue that is not in guest memory: what live migration carries.</summary>
public sealed record VirtqueueState(
    ushort Size, bool Ready, ulong DescriptorTable, ulong AvailRing, ulong UsedRing,
    ushort NextAvail, ushort NextUsed, ushort SignalledUsed, bool SignalledUsedValid, bool EventIndex, bool IndirectDescriptors);
