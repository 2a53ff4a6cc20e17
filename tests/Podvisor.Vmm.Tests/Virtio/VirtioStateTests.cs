using System.Buffers.Binary;
using Podvisor.Vmm.Devices.Virtio.Balloon;
using Podvisor.Vmm.Devices.Virtio.Block;
using Podvisor.Vmm.Devices.Virtio.Net;
using Podvisor.Vmm.Devices.Virtio.Vsock;
using Podvisor.Vmm.Memory;
using Podvisor.Vmm.Migration;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Tests.Virtio;

/// <summary>
/// A running device saved, carried in the migration's binary layout and restored into a fresh device over the same guest RAM (what a
/// migration target does): the guest's next requests are served where the source left off.
/// </summary>
public sealed class VirtioStateTests : IDisposable
{
    private readonly GuestRam _ram = new(4 << 20);
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-state-").FullName;

    public void Dispose()
    {
        _ram.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static VirtioMmioState RoundTrip(VirtioMmioState state) => MachineStateCodec.DecodeVirtio(MachineStateCodec.EncodeVirtio(state));

    [Fact]
    public void ABlockDeviceContinuesOnTheTargetWhereTheSourceStopped()
    {
        string image = Path.Combine(_dir, "disk.img");
        File.WriteAllBytes(image, Enumerable.Range(0, 8 * 512).Select(i => (byte)(i / 512 + 1)).ToArray());
        using var disk = DiskImage.Open(image, readOnly: false);
        var sourceIrq = new CountingInterrupt();
        var source = new VirtioMmioTransport(new VirtioBlock(disk, "d"), _ram, sourceIrq);
        var driver = new FakeDriver(_ram, 16);
        source.Probe(driver);
        void Request(ulong sector)
        {
            var h = _ram.GetSpan(new GuestAddress(0x10000), 16);
            BinaryPrimitives.WriteUInt32LittleEndian(h, BlockRequestType.In);
            BinaryPrimitives.WriteUInt64LittleEndian(h[8..], sector);
            driver.AddChain((0x10000, 16, false), (0x20000, 512, true), (0x30000, 1, true));
        }
        Request(1);
        source.Notify(0);
        Assert.Single(driver.TakeUsed());

        var state = RoundTrip(source.SaveState());
        Assert.Equal(VirtioDeviceType.Block, state.DeviceType);

        var targetIrq = new CountingInterrupt();
        var target = new VirtioMmioTransport(new VirtioBlock(disk, "d"), _ram, targetIrq);
        target.RestoreState(state);
        Assert.True(target.Device.IsActive);
        Assert.Equal(source.Status, target.Status);
        Assert.Equal(source.InterruptStatus, target.InterruptStatus);
        Assert.Equal(1, targetIrq.Count);                 // the source's unacknowledged interrupt is raised again
        Assert.True(target.Device.Queues[0].EventIndex);

        Request(5);
        target.Notify(0);
        Assert.Equal([(3, 513u)], driver.TakeUsed());      // the second chain (descriptors 3-5); used index 2
        Assert.Equal(2, driver.UsedIndex);
        Assert.All(_ram.GetReadOnlySpan(new GuestAddress(0x20000), 512).ToArray(), b => Assert.Equal(6, b));
    }

    [Fact]
    public void AStateFromAnotherKindOfDeviceIsRefused()
    {
        string image = Path.Combine(_dir, "disk.img");
        File.WriteAllBytes(image, new byte[4096]);
        using var disk = DiskImage.Open(image, readOnly: false);
        var block = new VirtioMmioTransport(new VirtioBlock(disk, "d"), _ram, new CountingInterrupt());
        block.Probe(new FakeDriver(_ram, 16));
        var rng = new VirtioMmioTransport(new Devices.Virtio.Rng.VirtioRng(), _ram, new CountingInterrupt());
        Assert.Contains("does not fit", Assert.Throws<ArgumentException>(() => rng.RestoreState(block.SaveState())).Message);
    }

    [Fact]
    public void ABalloonKeepsItsTargetActualAndHeldStatistics()
    {
        var source = new VirtioMmioTransport(new VirtioBalloon(), _ram, new CountingInterrupt());
        var inflate = new FakeDriver(_ram, 16, 0x1000, 0x1800, 0x2000);
        var deflate = new FakeDriver(_ram, 16, 0x3000, 0x3800, 0x4000);
        var stats = new FakeDriver(_ram, 16, 0x5000, 0x5800, 0x6000);
        Assert.True(source.Negotiate(1UL << VirtioFeatures.Version1 | 1UL << BalloonFeatures.StatsQueue));
        source.SetUpQueue(0, inflate);
        source.SetUpQueue(1, deflate);
        source.SetUpQueue(2, stats);
        source.DriverOk();
        ((VirtioBalloon)source.Device).SetTarget(1000);
        source.Write(MmioRegisters.Config + 4, BitConverter.GetBytes(600u));
        ushort head = stats.AddChain((0x10000, 10, false));
        source.Notify(2);

        var target = new VirtioMmioTransport(new VirtioBalloon(), _ram, new CountingInterrupt());
        target.RestoreState(RoundTrip(source.SaveState()));
        var balloon = (VirtioBalloon)target.Device;
        Assert.Equal(1000u, balloon.TargetPages);
        Assert.Equal(600u, balloon.ActualPages);
        target.RunExclusive(d => ((VirtioBalloon)d).RequestStatistics());
        Assert.Equal([(head, 0u)], stats.TakeUsed());       // the held buffer goes back from the target
    }

    [Fact]
    public void ADeviceStateCutShortOrTooLongIsRefusedNamingWhatIsWrong()
    {
        var source = new VirtioMmioTransport(new VirtioBalloon(), _ram, new CountingInterrupt());
        Assert.True(source.Negotiate(1UL << VirtioFeatures.Version1));
        source.SetUpQueue(0, new FakeDriver(_ram, 16, 0x1000, 0x1800, 0x2000));
        source.SetUpQueue(1, new FakeDriver(_ram, 16, 0x3000, 0x3800, 0x4000));
        source.DriverOk();
        var saved = source.SaveState();
        var target = new VirtioMmioTransport(new VirtioBalloon(), _ram, new CountingInterrupt());
        var cut = Assert.Throws<MigrationException>(() => target.RestoreState(saved with { Device = saved.Device[..6] }));
        Assert.Contains("virtio-balloon state is cut short or corrupt: actual pages", cut.Message);
        var longer = Assert.Throws<MigrationException>(() => target.RestoreState(saved with { Device = [.. saved.Device, 0] }));
        Assert.Contains("virtio-balloon state has 1 bytes more", longer.Message);
    }

    [Fact]
    public void AReceivedFrameWaitingForBuffersIsNotLost()
    {
        using var sourceBackend = new FakeNetBackend();
        var source = new VirtioMmioTransport(new VirtioNet(sourceBackend, MacAddress.Random()), _ram, new CountingInterrupt());
        var rx = new FakeDriver(_ram, 16, 0x1000, 0x2000, 0x3000);
        var tx = new FakeDriver(_ram, 16, 0x5000, 0x6000, 0x7000);
        Assert.True(source.Negotiate(source.ReadDeviceFeatures()));
        source.SetUpQueue(0, rx);
        source.SetUpQueue(1, tx);
        source.DriverOk();
        var frame = FakeNetBackend.Frame(3000, 5);
        sourceBackend.Incoming.Enqueue(frame);
        source.ProcessBackend(0);     // no receive buffers yet: the frame waits

        using var targetBackend = new FakeNetBackend();
        var target = new VirtioMmioTransport(new VirtioNet(targetBackend, MacAddress.Random()), _ram, new CountingInterrupt());
        target.RestoreState(RoundTrip(source.SaveState()));
        Assert.NotNull(targetBackend.Offload);              // offloads set again on the target's tap
        rx.AddChain((0x20000, 4096, true));
        target.Notify(0);
        Assert.Equal([(0, (uint)frame.Length)], rx.TakeUsed());
        Assert.Equal(frame.AsSpan(12).ToArray(), _ram.GetReadOnlySpan(new GuestAddress(0x20000 + 12), 3000).ToArray());
    }

    [Fact]
    public void VsockTellsTheGuestItsTransportWasReset()
    {
        using var sourceDevice = new VirtioVsock(5, Path.Combine(_dir, "a.sock"));
        var source = new VirtioMmioTransport(sourceDevice, _ram, new CountingInterrupt());
        var rx = new FakeDriver(_ram, 16, 0x1000, 0x2000, 0x3000);
        var tx = new FakeDriver(_ram, 16, 0x5000, 0x6000, 0x7000);
        var events = new FakeDriver(_ram, 16, 0x9000, 0xa000, 0xb000);
        Assert.True(source.Negotiate(source.ReadDeviceFeatures()));
        source.SetUpQueue(0, rx);
        source.SetUpQueue(1, tx);
        source.SetUpQueue(2, events);
        source.DriverOk();
        _ram.GetSpan(new GuestAddress(0x30000), 4).Fill(0xff);
        ushort head = events.AddChain((0x30000, 4, true));
        source.Notify(2);
        Assert.Empty(events.TakeUsed());                    // held for a future event

        using var targetDevice = new VirtioVsock(5, Path.Combine(_dir, "b.sock"));
        var target = new VirtioMmioTransport(targetDevice, _ram, new CountingInterrupt());
        target.RestoreState(RoundTrip(source.SaveState()));
        Assert.Equal([(head, 4u)], events.TakeUsed());
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(_ram.GetReadOnlySpan(new GuestAddress(0x30000), 4)));
    }
}
