using System.Collections.Concurrent;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator.Tests;

public sealed class ControllerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(10, Ct);
        }
    }

    [Fact]
    public async Task FailuresAreRetriedUntilTheyPassAndOthersKeepFlowing()
    {
        var calls = new ConcurrentDictionary<string, int>();
        var logged = new ConcurrentQueue<string>();
        var controller = new Controller("test", (key, _) =>
        {
            int n = calls.AddOrUpdate(key, 1, (_, c) => c + 1);
            if (key == "ns/flaky" && n < 3) throw new InvalidOperationException("not yet");
            return Task.FromResult(ReconcileResult.Done);
        }, workers: 2, log: logged.Enqueue);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = controller.RunAsync(stop.Token);
        controller.Enqueue("ns/flaky");
        controller.Enqueue("ns/steady");
        await Eventually(() => calls.GetValueOrDefault("ns/flaky") == 3 && calls.GetValueOrDefault("ns/steady") == 1, "three tries of the flaky key");
        await Task.Delay(100, Ct);
        Assert.Equal(3, calls["ns/flaky"]);                          // passed on the third try, then left alone
        Assert.Equal(2, logged.Count(l => l.Contains("ns/flaky: not yet", StringComparison.Ordinal)));
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5), Ct);
    }

    [Fact]
    public async Task ARequeueAfterComesBackOnItsOwn()
    {
        int calls = 0;
        var controller = new Controller("test", (_, _) =>
            Task.FromResult(Interlocked.Increment(ref calls) < 3 ? ReconcileResult.After(TimeSpan.FromMilliseconds(50)) : ReconcileResult.Done));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = controller.RunAsync(stop.Token);
        controller.Enqueue("ns/timed");
        await Eventually(() => Volatile.Read(ref calls) == 3, "two timed re-checks");
        await Task.Delay(150, Ct);
        Assert.Equal(3, Volatile.Read(ref calls));
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Equal(3, controller.Reconciles);
    }
}
