using System.Buffers.Binary;
using Podvisor.Vmm.Devices.Virtio.Net;
using Podvisor.Vmm.Memory;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Tests.Virtio;

public sealed class VirtioNetTests : IDisposable
{
    private readonly GuestRam _ram = new(1 << 20);
    private readonly FakeNetBackend _backend = new();
    private readonly VirtioNet _net;
    private readonly VirtioMmioTransport _transport;
    private readonly FakeDriver _rx, _tx;

    public VirtioNetTests()
    {
        _net = new VirtioNet(_backend, MacAddress.Parse("02:00:00:00:00:2a"));
        _transport = new VirtioMmioTransport(_net, _ram, new CountingInterrupt());
        _rx = new FakeDriver(_ram, 16, 0x1000, 0x2000, 0x3000);
        _tx = new FakeDriver(_ram, 16, 0x5000, 0x6000, 0x7000);
    }

    public void Dispose()
    {
        _backend.Dispose();
        _ram.Dispose();
    }

    private void Probe(ulong? features = null)
    {
        Assert.True(_transport.Negotiate(features ?? _transport.ReadDeviceFeatures()));
        _transport.SetUpQueue(VirtioNet.RxQueue, _rx);
        _transport.SetUpQueue(VirtioNet.TxQueue, _tx);
        _transport.DriverOk();
        Assert.True(_net.IsActive);
    }

    private byte[] Guest(ulong address, int length) => _ram.GetReadOnlySpan(new GuestAddress(address), length).ToArray();

    [Fact]
    public void ConfigurationSpaceCarriesTheMac()
    {
        var mac = new byte[6];
        _transport.Read(MmioRegisters.Config, mac);
        Assert.Equal([0x02, 0, 0, 0, 0, 0x2a], mac);
        Assert.True(VirtioFeatures.Has(_net.Features, NetFeatures.Mac));
    }

    [Fact]
    public void ActivationTellsTheTapWhichOffloadsTheGuestTakes()
    {
        Probe();
        Assert.Equal(Kvm.Tap.OffloadChecksum | Kvm.Tap.OffloadTso4 | Kvm.Tap.OffloadTso6, _backend.Offload);
    }

    [Fact]
    public void AGuestWithoutChecksumOffloadGetsFullFrames()
    {
        Probe(1UL << VirtioFeatures.Version1 | 1UL << NetFeatures.Mac);
        Assert.Equal(0u, _backend.Offload);
    }

    [Fact]
    public void TransmitsHeaderAndFrameFromSeveralBuffers()
    {
        Probe();
        _ram.Write(new GuestAddress(0x10000), FakeNetBackend.Frame(0, 0));
        _ram.Write(new GuestAddress(0x11000), FakeNetBackend.Frame(100, 7).AsSpan(VirtioNet.HeaderSize));
        ushort head = _tx.AddChain((0x10000, VirtioNet.HeaderSize, false), (0x11000, 100, false));
        _transport.Notify(VirtioNet.TxQueue);
        Assert.Equal(FakeNetBackend.Frame(100, 7), Assert.Single(_backend.Sent));
        Assert.Equal([(head, 0u)], _tx.TakeUsed());
        Assert.Equal(1, _net.TxFrames);
        Assert.Equal(100, _net.TxBytes);
    }

    [Fact]
    public void ATransmitChainWithNoFrameIsRefused()
    {
        Probe();
        _tx.AddChain((0x10000, VirtioNet.HeaderSize, false));
        _transport.Notify(VirtioNet.TxQueue);
        Assert.Empty(_backend.Sent);
        Assert.Equal(1, _net.TxDropped);
        Assert.Equal(1, _net.Queues[VirtioNet.TxQueue].Errors[ChainError.BadRequest]);
    }

    [Fact]
    public void AReceivedFrameSpreadsOverMergeableBuffers()
    {
        Probe();
        for (int i = 0; i < 4; i++) _rx.AddChain((0x20000 + (ulong)i * 0x1000, 2048, true));
        _transport.Notify(VirtioNet.RxQueue);
        var frame = FakeNetBackend.Frame(5000, 3);
        _backend.Incoming.Enqueue(frame);
        _net.OnBackendReady(0);

        var used = _rx.TakeUsed();
        Assert.Equal([(0, 2048u), (1, 2048u), (2, (uint)(frame.Length - 4096))], used);
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(Guest(0x20000 + 10, 2)));   // num_buffers
        var received = Guest(0x20000, 2048).Concat(Guest(0x21000, 2048)).Concat(Guest(0x22000, frame.Length - 4096)).ToArray();
        Assert.Equal(frame.AsSpan(12).ToArray(), received.AsSpan(12).ToArray());
        Assert.Equal(1, _net.RxFrames);
    }

    [Fact]
    public void AFrameWaitsForBuffersAndNothingIsTakenMeanwhile()
    {
        Probe();
        _rx.AddChain((0x20000, 2048, true));
        _transport.Notify(VirtioNet.RxQueue);
        var frame = FakeNetBackend.Frame(5000, 9);
        _backend.Incoming.Enqueue(frame);
        _backend.Incoming.Enqueue(FakeNetBackend.Frame(60, 1));
        _net.OnBackendReady(0);
        Assert.Empty(_rx.TakeUsed());                 // one buffer is not enough: it stays the driver's

        _rx.AddChain((0x21000, 2048, true));
        _rx.AddChain((0x22000, 2048, true));
        _rx.AddChain((0x23000, 2048, true));
        _transport.Notify(VirtioNet.RxQueue);         // the guest's notify delivers the waiting frames in order
        Assert.Equal([(0, 2048u), (1, 2048u), (2, (uint)(frame.Length - 4096)), (3, 72u)], _rx.TakeUsed());
        Assert.Equal(2, _net.RxFrames);
        Assert.Equal(0, _net.RxDropped);
    }

    [Fact]
    public void WithoutMergeableBuffersATooSmallBufferDropsTheFrame()
    {
        Probe(1UL << VirtioFeatures.Version1);
        _rx.AddChain((0x20000, 1024, true));
        _rx.AddChain((0x21000, 4096, true));
        _transport.Notify(VirtioNet.RxQueue);
        _backend.Incoming.Enqueue(FakeNetBackend.Frame(2000, 0));
        _backend.Incoming.Enqueue(FakeNetBackend.Frame(2000, 0));
        _net.OnBackendReady(0);
        Assert.Equal([(0, 0u), (1, 2012u)], _rx.TakeUsed());
        Assert.Equal(1, _net.RxDropped);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(Guest(0x21000 + 10, 2)));
    }

    [Fact]
    public void AReceiveChainWithNothingWritableDropsTheFrameAndIsCounted()
    {
        Probe();
        _rx.AddChain((0x20000, 2048, false));
        _rx.AddChain((0x21000, 2048, true));
        _transport.Notify(VirtioNet.RxQueue);
        _backend.Incoming.Enqueue(FakeNetBackend.Frame(100, 0));
        _backend.Incoming.Enqueue(FakeNetBackend.Frame(100, 0));
        _net.OnBackendReady(0);
        Assert.Equal([(0, 0u), (1, 112u)], _rx.TakeUsed());
        Assert.Equal(1, _net.RxDropped);
        Assert.Equal(1, _net.Queues[VirtioNet.RxQueue].Errors[ChainError.BadRequest]);
    }

    [Fact]
    public void AMalformedChainBetweenBuffersIsReturnedOnceAndTheFrameDropped()
    {
        Probe();
        _rx.AddChain((0x20000, 2048, true));
        _rx.WriteDescriptor(1, 0x10_0000 - 4, 64, Descriptor.FlagWrite, 0);   // outside RAM
        _rx.Publish(1);
        _transport.Notify(VirtioNet.RxQueue);
        _backend.Incoming.Enqueue(FakeNetBackend.Frame(5000, 0));
        _net.OnBackendReady(0);
        var used = _rx.TakeUsed();
        Assert.Equal([(1, 0u), (0, 0u)], used);       // each head exactly once
        Assert.Equal(1, _net.RxDropped);
    }

    [Fact]
    public void MacAddressesAreParsedAndChecked()
    {
        Assert.Equal("02:00:00:aa:bb:cc", MacAddress.Parse("02:00:00:AA:BB:CC").ToString());
        Assert.Contains("multicast", Assert.Throws<ArgumentException>(() => MacAddress.Parse("01:00:5e:00:00:01")).Message);
        Assert.Contains("not a MAC", Assert.Throws<ArgumentException>(() => MacAddress.Parse("02:00:00:00:00")).Message);
        var random = MacAddress.Random();
        Assert.Equal(0x02, random.B0 & 0x03);
    }
}
