namespace Podvisor.Vmm.Devices.Virtio.Net;

/// <summary>virtio-net's state beyond its queues: a received frame still waiting for guest buffers.</summary>
public sealed record NetState(byte[] PendingFrame);
