namespace Podvisor.Vmm.Virtio;

/// <summary>The device status field (virtio 1.2 §2.1): the driver walks it up to DriverOk; 0 resets.</summary>
[Flags]
public enum DeviceStatus : uint
{
    Reset = 0,
    Acknowledge = 1,
    Driver = 2,
    DriverOk = 4,
    FeaturesOk = 8,
    DeviceNeedsReset = 64,
    Failed = 128,
}
