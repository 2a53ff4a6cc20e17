using Podvisor.Vmm.Devices.Virtio.Block;

namespace Podvisor.Vmm.Tests.Virtio;

/// <summary>The worker pool behind io=threads: workers start only when requests find none idle, up to the cap.</summary>
public sealed class ThreadPoolBlockEngineTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"podvisor-pool-{Guid.NewGuid():N}.img");

    public ThreadPoolBlockEngineTests() => File.WriteAllBytes(_path, [.. Enumerable.Range(0, 64 * 512).Select(i => (byte)(i / 512))]);

    public void Dispose() => File.Delete(_path);

    private static BlockRequest Read(int slot, ulong sector)
    {
        var request = new BlockRequest(slot);
        request.Begin(BlockRequestType.In, sector * 512, 512);
        request.ReadBuffers.Add(new byte[512]);
        return request;
    }

    [Fact]
    public void OneRequestAtATimeNeedsOneWorker()
    {
        using var disk = DiskImage.Open(_path, readOnly: true);
        using var engine = new ThreadPoolBlockEngine(disk, "test");
        var finished = new List<BlockRequest>();
        for (int i = 0; i < 20; i++)
        {
            engine.Submit(Read(0, (ulong)i));
            engine.Drain();
            engine.TakeFinished(finished);
        }
        Assert.Equal(20, finished.Count);
        Assert.All(finished, r => Assert.True(r.Succeeded));
        Assert.Equal(1, engine.Workers);
    }

    [Fact]
    public void ABurstStartsWorkersUpToTheCapAndEveryRequestFinishes()
    {
        using var disk = DiskImage.Open(_path, readOnly: true);
        using var engine = new ThreadPoolBlockEngine(disk, "test", maxWorkers: 3);
        var requests = Enumerable.Range(0, 40).Select(i => Read(i, (ulong)(i % 64))).ToList();
        foreach (var r in requests) engine.Submit(r);
        engine.Drain();
        var finished = new List<BlockRequest>();
        engine.TakeFinished(finished);
        Assert.Equal(requests.Select(r => r.Slot).Order(), finished.Select(r => r.Slot).Order());
        Assert.All(requests, r => Assert.Equal((byte)(r.Slot % 64), r.ReadBuffers[0].Span[0]));
        Assert.InRange(engine.Workers, 1, 3);
        Assert.Equal(0, engine.InFlight);
    }

    [Fact]
    public void DisposingFinishesWhatWasSubmittedFirst()
    {
        using var disk = DiskImage.Open(_path, readOnly: true);
        var engine = new ThreadPoolBlockEngine(disk, "test", maxWorkers: 2);
        var requests = Enumerable.Range(0, 16).Select(i => Read(i, 5)).ToList();
        foreach (var r in requests) engine.Submit(r);
        engine.Dispose();
        Assert.All(requests, r => Assert.True(r.Succeeded && r.ReadBuffers[0].Span[0] == 5));
    }
}
