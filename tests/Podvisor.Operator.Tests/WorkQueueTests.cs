using System.Collections.Concurrent;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator.Tests;

public sealed class WorkQueueTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<string?> Next(WorkQueue<string> queue, int timeoutMs = 5000)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(timeoutMs);
        var (available, key) = await queue.GetAsync(timeout.Token);
        return available ? key : null;
    }

    [Fact]
    public async Task AKeyAddedTwiceWaitsOnceInOrderOfFirstAdd()
    {
        using var queue = new WorkQueue<string>();
        queue.Add("a");
        queue.Add("b");
        queue.Add("a");
        Assert.Equal(2, queue.Count);
        Assert.Equal("a", await Next(queue));
        Assert.Equal("b", await Next(queue));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public async Task AnAddWhileProcessingComesBackAfterDoneNotBefore()
    {
        using var queue = new WorkQueue<string>();
        queue.Add("a");
        Assert.Equal("a", await Next(queue));
        queue.Add("a");                                              // the object changed while we worked on it
        queue.Add("a");
        Assert.Equal(0, queue.Count);                                // not handed to a second worker meanwhile
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Next(queue, timeoutMs: 100));
        queue.Done("a");
        Assert.Equal("a", await Next(queue));                        // once, after Done
        queue.Done("a");
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void FailuresBackOffExponentiallyUpToTheMaximumAndForgetResets()
    {
        using var queue = new WorkQueue<string>(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50));
        var delays = new List<TimeSpan>();
        for (int i = 0; i < 5; i++) delays.Add(queue.NextDelay("k"));
        Assert.Equal([10, 20, 40, 50, 50], delays.Select(d => (int)d.TotalMilliseconds));
        Assert.Equal(5, queue.Failures("k"));
        queue.Forget("k");
        Assert.Equal(0, queue.Failures("k"));
        Assert.Equal(10, (int)queue.NextDelay("k").TotalMilliseconds);
    }

    [Fact]
    public async Task RateLimitedAndDelayedAddsArriveAfterTheirDelay()
    {
        using var queue = new WorkQueue<string>(TimeSpan.FromMilliseconds(200));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        queue.AddRateLimited("k");
        Assert.Equal(0, queue.Count);
        Assert.Equal("k", await Next(queue));
        Assert.True(watch.ElapsedMilliseconds >= 190, $"{watch.ElapsedMilliseconds} ms");
        queue.Done("k");

        watch.Restart();
        queue.AddAfter("later", TimeSpan.FromMilliseconds(150));
        queue.Add("now");
        Assert.Equal("now", await Next(queue));
        Assert.Equal("later", await Next(queue));
        Assert.True(watch.ElapsedMilliseconds >= 140, $"{watch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task ShutDownDrainsTheQueueThenReleasesEveryWorker()
    {
        using var queue = new WorkQueue<string>();
        queue.Add("left");
        var idle = Enumerable.Range(0, 3).Select(_ => Task.Run(() => Next(queue), Ct)).ToList();
        var first = await Task.WhenAny(idle);
        Assert.Equal("left", await first);
        queue.ShutDown();
        queue.Add("ignored");
        foreach (var worker in idle.Where(t => t != first)) Assert.Null(await worker);
        Assert.Null(await Next(queue));
    }

    [Fact]
    public async Task ManyWorkersNeverProcessOneKeyAtOnceAndLoseNothing()
    {
        using var queue = new WorkQueue<int>();
        var inFlight = new ConcurrentDictionary<int, int>();
        var processed = new ConcurrentDictionary<int, int>();
        bool overlap = false;
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (await queue.GetAsync(Ct) is (true, var key))
            {
                if (!inFlight.TryAdd(key, 0)) overlap = true;
                await Task.Yield();
                processed.AddOrUpdate(key, 1, (_, n) => n + 1);
                inFlight.TryRemove(key, out _);
                queue.Done(key);
            }
        }, Ct)).ToList();
        for (int round = 0; round < 200; round++) queue.Add(round % 10);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((queue.Count > 0 || !inFlight.IsEmpty || processed.Count < 10) && DateTime.UtcNow < deadline) await Task.Delay(10, Ct);
        queue.ShutDown();
        await Task.WhenAll(workers.Select(w => w.WaitAsync(TimeSpan.FromSeconds(10), Ct)));
        Assert.False(overlap, "a key was processed by two workers at once");
        Assert.Equal(Enumerable.Range(0, 10), processed.Keys.Order());
    }
}
