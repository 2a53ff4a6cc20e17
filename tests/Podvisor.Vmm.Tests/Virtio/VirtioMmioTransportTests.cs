using Podvisor.Vmm.Devices.Virtio.Rng;
using Podvisor.Vmm.Memory;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Tests.Virtio;

/// <summary>The virtio-mmio version 2 register window, driven as Linux's virtio_mmio driver drives it.</summary>
public sealed class VirtioMmioTransportTests : IDisposable
{
    private readonly GuestRam _ram = new(1 << 20);
    private readonly CountingInterrupt _irq = new();
    private readonly VirtioRng _rng = new();
    private readonly VirtioMmioTransport _transport;

    public VirtioMmioTransportTests() => _transport = new VirtioMmioTransport(_rng, _ram, _irq);

    public void Dispose() => _ram.Dispose();

    [Fact]
    public void IdentifiesAsAVersionTwoDevice()
    {
        Assert.Equal(0x74726976u, _transport.ReadRegister(MmioRegisters.MagicValue));
        Assert.Equal(2u, _transport.ReadRegister(MmioRegisters.Version));
        Assert.Equal(4u, _transport.ReadRegister(MmioRegisters.DeviceId));
        _transport.WriteRegister(MmioRegisters.QueueSel, 0);
        Assert.Equal((uint)VirtioRng.QueueSize, _transport.ReadRegister(MmioRegisters.QueueNumMax));
        _transport.WriteRegister(MmioRegisters.QueueSel, 1);
        Assert.Equal(0u, _transport.ReadRegister(MmioRegisters.QueueNumMax));   // no such queue
    }

    [Fact]
    public void OffersVersionOneEventIndexAndIndirectDescriptors()
    {
        ulong features = _transport.ReadDeviceFeatures();
        Assert.True(VirtioFeatures.Has(features, VirtioFeatures.Version1));
        Assert.True(VirtioFeatures.Has(features, VirtioFeatures.RingEventIndex));
        Assert.True(VirtioFeatures.Has(features, VirtioFeatures.RingIndirectDescriptors));
    }

    [Fact]
    public void FeaturesOkIsRefusedForFeaturesNotOfferedOrALegacyDriver()
    {
        Assert.False(_transport.Negotiate(VirtioFeatures.Common | 1UL << 40));
        Assert.False(_transport.Negotiate(1UL << VirtioFeatures.RingEventIndex));   // no VERSION_1
        Assert.True(_transport.Negotiate(1UL << VirtioFeatures.Version1));
    }

    [Fact]
    public void DriverOkActivatesTheDeviceAndNotifyRunsIt()
    {
        var driver = new FakeDriver(_ram, 16);
        _transport.Probe(driver);
        Assert.Equal(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk, _transport.Status);
        Assert.True(_rng.Queues[0].EventIndex);

        ushort head = driver.AddChain((0x10000, 64, true));
        _transport.Notify(0);
        Assert.Equal([(head, 64u)], driver.TakeUsed());
        Assert.Equal(1, _irq.Count);
        Assert.Equal(MmioRegisters.InterruptUsedBuffer, _transport.ReadRegister(MmioRegisters.InterruptStatus));
        _transport.WriteRegister(MmioRegisters.InterruptAck, MmioRegisters.InterruptUsedBuffer);
        Assert.Equal(0u, _transport.ReadRegister(MmioRegisters.InterruptStatus));
    }

    [Fact]
    public void BuffersOfferedBeforeDriverOkAreUsedOnceTheDeviceRuns()
    {
        var driver = new FakeDriver(_ram, 16);
        Assert.True(_transport.Negotiate(_transport.ReadDeviceFeatures()));
        _transport.SetUpQueue(0, driver);
        ushort head = driver.AddChain((0x10000, 64, true));
        _transport.Notify(0);                   // too early: the device must not use it yet
        Assert.Empty(driver.TakeUsed());
        _transport.DriverOk();
        Assert.Equal([(head, 64u)], driver.TakeUsed());
    }

    [Fact]
    public void DriverOkWithoutFeaturesOkIsRefused()
    {
        _transport.WriteRegister(MmioRegisters.Status, (uint)(DeviceStatus.Acknowledge | DeviceStatus.Driver));
        _transport.WriteRegister(MmioRegisters.Status, (uint)(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.DriverOk));
        Assert.False(_rng.IsActive);
        Assert.Equal(1, _transport.BadAccesses);
    }

    [Fact]
    public void ResetStopsTheDeviceAndForgetsItsQueues()
    {
        var driver = new FakeDriver(_ram, 16);
        _transport.Probe(driver);
        _transport.WriteRegister(MmioRegisters.Status, 0);
        Assert.False(_rng.IsActive);
        Assert.False(_rng.Queues[0].Ready);
        Assert.Equal(0u, _transport.ReadRegister(MmioRegisters.Status));

        driver.AddChain((0x10000, 64, true));
        _transport.Notify(0);                  // a notify after reset does nothing
        Assert.Empty(driver.TakeUsed());
    }

    [Fact]
    public void AQueueOutsideGuestRamNeedsAResetAndIsNeverUsed()
    {
        Assert.True(_transport.Negotiate(_transport.ReadDeviceFeatures()));
        _transport.SetUpQueue(0, new FakeDriver(_ram, 16, descTable: 0x10_0000 - 16));
        Assert.Contains("descriptor table", _transport.LastQueueProblem);
        Assert.True(_transport.Status.HasFlag(DeviceStatus.DeviceNeedsReset));
        _transport.DriverOk();
        Assert.False(_rng.IsActive);
    }

    [Fact]
    public void QueueLayoutCannotChangeOnceReady()
    {
        var driver = new FakeDriver(_ram, 16);
        _transport.Probe(driver);
        _transport.WriteRegister(MmioRegisters.QueueDescLow, 0x5000);
        Assert.Equal(0x1000u, _transport.ReadRegister(MmioRegisters.QueueDescLow));
        Assert.Equal(1, _transport.BadAccesses);
    }

    [Fact]
    public void OddWidthAndUnknownRegisterAccessesAreIgnoredAndCounted()
    {
        var two = new byte[2];
        _transport.Read(MmioRegisters.MagicValue, two);
        Assert.Equal([0, 0], two);
        _transport.Write(MmioRegisters.Status, new byte[] { 1 });
        Assert.Equal(0u, _transport.ReadRegister(MmioRegisters.Status));
        Assert.Equal(0u, _transport.ReadRegister(0x0d0));
        _transport.WriteRegister(MmioRegisters.MagicValue, 1);     // read-only
        _transport.WriteRegister(MmioRegisters.QueueNotify, 7);    // no queue 7
        Assert.Equal(5, _transport.BadAccesses);
    }

    [Fact]
    public void NotifyGoesToTheIoThreadWhenOneIsWired()
    {
        var notified = new List<int>();
        var transport = new VirtioMmioTransport(new VirtioRng(), _ram, _irq, notified.Add);
        var driver = new FakeDriver(_ram, 16);
        transport.Probe(driver);
        Assert.Equal([0], notified);           // activation looks at every ready queue
        notified.Clear();
        driver.AddChain((0x10000, 64, true));
        transport.Notify(0);
        Assert.Equal([0], notified);
        Assert.Empty(driver.TakeUsed());       // not processed on the vCPU's thread
        transport.ProcessNotification(0);
        Assert.Single(driver.TakeUsed());
    }
}
