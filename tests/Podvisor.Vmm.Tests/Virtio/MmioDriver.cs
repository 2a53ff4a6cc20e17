using System.Buffers.Binary;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Tests.Virtio;

/// <summary>Drives a virtio-mmio transport's registers as the Linux driver does at probe time.</summary>
internal static class MmioDriver
{
    public static uint ReadRegister(this VirtioMmioTransport t, uint offset)
    {
        Span<byte> b = stackalloc byte[4];
        t.Read(offset, b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    public static void WriteRegister(this VirtioMmioTransport t, uint offset, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        t.Write(offset, b);
    }

    public static ulong ReadDeviceFeatures(this VirtioMmioTransport t)
    {
        t.WriteRegister(MmioRegisters.DeviceFeaturesSel, 0);
        ulong low = t.ReadRegister(MmioRegisters.DeviceFeatures);
        t.WriteRegister(MmioRegisters.DeviceFeaturesSel, 1);
        return low | (ulong)t.ReadRegister(MmioRegisters.DeviceFeatures) << 32;
    }

    /// <summary>Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns whether the device kept FEATURES_OK.</summary>
    public static bool Negotiate(this VirtioMmioTransport t, ulong features)
    {
        t.WriteRegister(MmioRegisters.Status, 0);
        t.WriteRegister(MmioRegisters.Status, (uint)DeviceStatus.Acknowledge);
        t.WriteRegister(MmioRegisters.Status, (uint)(DeviceStatus.Acknowledge | DeviceStatus.Driver));
        t.WriteRegister(MmioRegisters.DriverFeaturesSel, 0);
        t.WriteRegister(MmioRegisters.DriverFeatures, (uint)features);
        t.WriteRegister(MmioRegisters.DriverFeaturesSel, 1);
        t.WriteRegister(MmioRegisters.DriverFeatures, (uint)(features >> 32));
        t.WriteRegister(MmioRegisters.Status, (uint)(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk));
        return ((DeviceStatus)t.ReadRegister(MmioRegisters.Status)).HasFlag(DeviceStatus.FeaturesOk);
    }

    public static void SetUpQueue(this VirtioMmioTransport t, uint index, FakeDriver driver)
    {
        t.WriteRegister(MmioRegisters.QueueSel, index);
        t.WriteRegister(MmioRegisters.QueueNum, driver.Size);
        t.WriteRegister(MmioRegisters.QueueDescLow, (uint)driver.DescriptorTable.Value);
        t.WriteRegister(MmioRegisters.QueueDescHigh, (uint)(driver.DescriptorTable.Value >> 32));
        t.WriteRegister(MmioRegisters.QueueDriverLow, (uint)driver.AvailRing.Value);
        t.WriteRegister(MmioRegisters.QueueDriverHigh, (uint)(driver.AvailRing.Value >> 32));
        t.WriteRegister(MmioRegisters.QueueDeviceLow, (uint)driver.UsedRing.Value);
        t.WriteRegister(MmioRegisters.QueueDeviceHigh, (uint)(driver.UsedRing.Value >> 32));
        t.WriteRegister(MmioRegisters.QueueReady, 1);
    }

    public static void DriverOk(this VirtioMmioTransport t) =>
        t.WriteRegister(MmioRegisters.Status, (uint)(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk));

    /// <summary>The whole probe: every feature offered, queue 0 on <paramref name="driver"/>, DRIVER_OK.</summary>
    public static void Probe(this VirtioMmioTransport t, FakeDriver driver, ulong? features = null)
    {
        Assert.True(t.Negotiate(features ?? t.ReadDeviceFeatures()));
        t.SetUpQueue(0, driver);
        t.DriverOk();
        Assert.True(t.Device.IsActive);
    }

    public static void Notify(this VirtioMmioTransport t, uint queue) => t.WriteRegister(MmioRegisters.QueueNotify, queue);
}
