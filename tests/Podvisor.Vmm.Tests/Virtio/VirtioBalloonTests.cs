using System.Buffers.Binary;
using Podvisor.Vmm.Devices.Virtio.Balloon;
using Podvisor.Vmm.Memory;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Tests.Virtio;

public sealed class VirtioBalloonTests : IDisposable
{
    private readonly GuestRam _ram = new(4 << 20);
    private readonly CountingInterrupt _irq = new();
    private readonly VirtioBalloon _balloon = new();
    private readonly VirtioMmioTransport _transport;
    private readonly FakeDriver _inflate, _deflate, _stats, _reporting;

    public VirtioBalloonTests()
    {
        _transport = new VirtioMmioTransport(_balloon, _ram, _irq);
        _inflate = new FakeDriver(_ram, 16, 0x1000, 0x1800, 0x2000);
        _deflate = new FakeDriver(_ram, 16, 0x3000, 0x3800, 0x4000);
        _stats = new FakeDriver(_ram, 16, 0x5000, 0x5800, 0x6000);
        _reporting = new FakeDriver(_ram, 16, 0x7000, 0x7800, 0x8000);
    }

    public void Dispose() => _ram.Dispose();

    private void Probe(ulong features, params FakeDriver[] queues)
    {
        Assert.True(_transport.Negotiate(features | 1UL << VirtioFeatures.Version1));
        for (int i = 0; i < queues.Length; i++) _transport.SetUpQueue((uint)i, queues[i]);
        _transport.DriverOk();
    }

    private void ProbeAll() => Probe(_balloon.Features, _inflate, _deflate, _stats, _reporting);

    private ushort SendPfns(FakeDriver driver, ulong at, params uint[] pfns)
    {
        var bytes = new byte[pfns.Length * 4];
        for (int i = 0; i < pfns.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), pfns[i]);
        _ram.Write(new GuestAddress(at), bytes);
        return driver.AddChain((at, (uint)bytes.Length, false));
    }

    [Fact]
    public void InflatingGivesThePagesBackToTheHost()
    {
        ProbeAll();
        _ram.GetSpan(new GuestAddress(0x20_0000), 2 * 4096).Fill(0xab);
        _ram.TakeVmmDirty();
        ushort head = SendPfns(_inflate, 0x10000, 0x200, 0x201);
        _transport.Notify(0);
        Assert.Equal([(head, 0u)], _inflate.TakeUsed());
        Assert.Equal(2, _balloon.InflatedPages);
        Assert.All(_ram.GetReadOnlySpan(new GuestAddress(0x20_0000), 2 * 4096).ToArray(), b => Assert.Equal(0, b));
        Assert.True(_ram.VmmDirty.IsDirty(0x200) && _ram.VmmDirty.IsDirty(0x201));   // a migration must resend them
    }

    [Fact]
    public void DeflatingIsCountedAndAnswered()
    {
        ProbeAll();
        ushort head = SendPfns(_deflate, 0x10000, 0x300);
        _transport.Notify(1);
        Assert.Equal([(head, 0u)], _deflate.TakeUsed());
        Assert.Equal(1, _balloon.DeflatedPages);
    }

    [Fact]
    public void PageNumbersOutsideRamAreCountedNotFollowed()
    {
        ProbeAll();
        ushort head = SendPfns(_inflate, 0x10000, 0xffff_ffff, 0x10);
        _transport.Notify(0);
        Assert.Equal([(head, 0u)], _inflate.TakeUsed());
        Assert.Equal(1, _balloon.InflatedPages);
        Assert.Equal(1, _balloon.Queues[0].Errors[ChainError.BufferOutOfRange]);
    }

    [Fact]
    public void ARaggedPageListIsRefused()
    {
        ProbeAll();
        _inflate.AddChain((0x10000, 6, false));
        _transport.Notify(0);
        Assert.Equal(1, _balloon.Queues[0].Errors[ChainError.BadRequest]);
    }

    [Fact]
    public void TheTargetIsConfigurationTheDriverIsToldAbout()
    {
        ProbeAll();
        _balloon.SetTarget(1234);
        var config = new byte[8];
        _transport.Read(MmioRegisters.Config, config);
        Assert.Equal(1234u, BinaryPrimitives.ReadUInt32LittleEndian(config));
        Assert.Equal(MmioRegisters.InterruptConfigChange, _transport.InterruptStatus & MmioRegisters.InterruptConfigChange);
        Assert.Equal(1u, _transport.ReadRegister(MmioRegisters.ConfigGeneration));

        _transport.Write(MmioRegisters.Config + 4, BitConverter.GetBytes(1000u));   // the driver reports actual
        Assert.Equal(1000u, _balloon.ActualPages);
        _transport.Write(MmioRegisters.Config, BitConverter.GetBytes(1u));          // num_pages is the host's
        Assert.Equal(1234u, _balloon.TargetPages);
    }

    [Fact]
    public void StatisticsAreReadAndTheBufferHeldUntilTheHostAsksAgain()
    {
        ProbeAll();
        var entries = new byte[20];
        BinaryPrimitives.WriteUInt16LittleEndian(entries, (ushort)BalloonStatistic.FreeMemory);
        BinaryPrimitives.WriteUInt64LittleEndian(entries.AsSpan(2), 100UL << 20);
        BinaryPrimitives.WriteUInt16LittleEndian(entries.AsSpan(10), (ushort)BalloonStatistic.TotalMemory);
        BinaryPrimitives.WriteUInt64LittleEndian(entries.AsSpan(12), 256UL << 20);
        _ram.Write(new GuestAddress(0x10000), entries);
        ushort head = _stats.AddChain((0x10000, 20, false));
        _transport.Notify(2);
        Assert.Equal(100UL << 20, _balloon.Statistics![BalloonStatistic.FreeMemory]);
        Assert.Equal(256UL << 20, _balloon.Statistics[BalloonStatistic.TotalMemory]);
        Assert.Null(_balloon.Statistics[BalloonStatistic.SwapIn]);
        Assert.Empty(_stats.TakeUsed());                 // held

        _transport.RunExclusive(d => ((VirtioBalloon)d).RequestStatistics());
        Assert.Equal([(head, 0u)], _stats.TakeUsed());
    }

    [Fact]
    public void ReportedFreePagesGoBackToTheHost()
    {
        ProbeAll();
        _ram.GetSpan(new GuestAddress(0x20_0000), 0x20_0000).Fill(0xcd);
        ushort head = _reporting.AddChain((0x20_0000, 0x20_0000, true));
        _transport.Notify(3);
        Assert.Equal([(head, 0x20_0000u)], _reporting.TakeUsed());
        Assert.Equal(0x20_0000, _balloon.ReportedBytes);
        Assert.All(_ram.GetReadOnlySpan(new GuestAddress(0x20_0000), 0x20_0000).ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void WithoutStatisticsTheReportingQueueIsTheThird()
    {
        // virtio-mmio numbers only the queues a driver uses: inflate 0, deflate 1, reporting 2.
        Probe(1UL << BalloonFeatures.PageReporting, _inflate, _deflate, _reporting);
        ushort head = _reporting.AddChain((0x20_0000, 0x1000, true));
        _transport.Notify(2);
        Assert.Equal([(head, 0x1000u)], _reporting.TakeUsed());
        Assert.Equal(0x1000, _balloon.ReportedBytes);
    }

    [Fact]
    public void HugePageBackedRamIsNotHandedBackPageByPage()
    {
        using var ram = new GuestRam(4 << 20, hugeTlbPageSize: null);
        Assert.True(ram.Discard(new GuestAddress(0x1000), 0x1000));
        Assert.Throws<GuestMemoryException>(() => ram.Discard(new GuestAddress(0x1001), 0x1000));
        Assert.Throws<GuestMemoryException>(() => ram.Discard(new GuestAddress(4 << 20), 0x1000));
    }
}
