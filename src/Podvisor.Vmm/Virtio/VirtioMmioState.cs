namespace Podvisor.Vmm.Virtio;

/// <summary>
/// A virtio-mmio device as live migration carries it: the transport's registers, every queue's position
/// and the device's own state (<see cref="VirtioDevice.SaveDeviceState"/>). The rings themselves travel
/// with guest RAM. Restored into a device of the same type and queue count.
/// </summary>
public sealed record VirtioMmioState(
    VirtioDeviceType DeviceType, uint Status, ulong DriverFeatures, uint DeviceFeaturesSelect, uint DriverFeaturesSelect,
    uint QueueSelect, uint InterruptStatus, uint ConfigGeneration, IReadOnlyList<VirtqueueState> Queues, byte[] Device);
