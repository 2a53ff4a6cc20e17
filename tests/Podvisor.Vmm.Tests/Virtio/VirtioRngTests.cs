using Podvisor.Vmm.Devices.Virtio.Rng;
using Podvisor.Vmm.Memory;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Tests.Virtio;

public sealed class VirtioRngTests : IDisposable
{
    private readonly GuestRam _ram = new(1 << 20);
    private readonly VirtioRng _rng = new();
    private readonly VirtioMmioTransport _transport;
    private readonly FakeDriver _driver;
    private readonly CountingInterrupt _interrupt = new();

    public VirtioRngTests()
    {
        _transport = new VirtioMmioTransport(_rng, _ram, _interrupt);
        _driver = new FakeDriver(_ram, 16);
        _transport.Probe(_driver);
    }

    public void Dispose() => _ram.Dispose();

    [Fact]
    public void FillsEveryWritableBufferWithRandomBytes()
    {
        ushort head = _driver.AddChain((0x10000, 100, true), (0x20000, 4096, true));
        _transport.Notify(0);
        Assert.Equal([(head, 4196u)], _driver.TakeUsed());
        var page = _ram.GetReadOnlySpan(new GuestAddress(0x20000), 4096).ToArray();
        Assert.True(page.Distinct().Count() > 200, "4 KiB of random bytes should use most byte values");
        Assert.Equal(4196, _rng.BytesServed);
    }

    [Fact]
    public void CapsWhatOneRequestGets()
    {
        ushort head = _driver.AddChain((0x10000, 0x80000, true));
        _transport.Notify(0);
        Assert.Equal([(head, VirtioRng.MaxBytesPerRequest)], _driver.TakeUsed());
    }

    [Fact]
    public void RefusesARequestWithNothingToWrite()
    {
        ushort head = _driver.AddChain((0x10000, 64, false));
        _transport.Notify(0);
        Assert.Equal([(head, 0u)], _driver.TakeUsed());
        Assert.Equal(1, _rng.Queues[0].Errors[ChainError.BadRequest]);
    }

    [Fact]
    public void ABatchOfOnlyMalformedChainsIsHandedBackWithAnInterrupt()
    {
        // Nothing in it is servable (its buffer lies outside guest RAM): returned unread, and the driver is told now,
        // not at some later interrupt that may never come.
        int before = _interrupt.Count;
        ushort head = _driver.AddChain((0x7fff_0000, 4096, true));
        _transport.Notify(0);
        Assert.Equal([(head, 0u)], _driver.TakeUsed());
        Assert.Equal(1, _rng.Queues[0].Errors.Total);
        Assert.Equal(before + 1, _interrupt.Count);
        Assert.Equal(0, _rng.BytesServed);
    }
}
