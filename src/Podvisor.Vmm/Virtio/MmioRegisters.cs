namespace Podvisor.Vmm.Virtio;

/// <summary>virtio-mmio version 2 register offsets (virtio 1.2 §4.2.2).</summary>
public static class MmioRegisters
{
    public const uint MagicValue = 0x000, Version = 0x004, DeviceId = 0x008, VendorId = 0x00c;
    public const uint DeviceFeatures = 0x010, DeviceFeaturesSel = 0x014, DriverFeatures = 0x020, DriverFeaturesSel = 0x024;
    public const uint QueueSel = 0x030, QueueNumMax = 0x034, QueueNum = 0x038, QueueReady = 0x044, QueueNotify = 0x050;
    public const uint InterruptStatus = 0x060, InterruptAck = 0x064, Status = 0x070;
    public const uint QueueDescLow = 0x080, QueueDescHigh = 0x084, QueueDriverLow = 0x090, QueueDriverHigh = 0x094;
    public const uint QueueDeviceLow = 0x0a0, QueueDeviceHigh = 0x0a4, ShmSel = 0x0ac, ShmLenLow = 0x0b0, ShmLenHigh = 0x0b4;
    public const uint ShmBaseLow = 0x0b8, ShmBaseHigh = 0x0bc, ConfigGeneration = 0x0fc, Config = 0x100;

    /// <summary>"virt" in little endian.</summary>
    public const uint Magic = 0x7472_6976;

    /// <summary>Our vendor ID: "PV" (any value is allowed; drivers match on device ID).</summary>
    public const uint PodvisorVendor = 0x5650;

    public const uint InterruptUsedBuffer = 1, InterruptConfigChange = 2;
}
