using System.Collections.Concurrent;
using System.Text.Json;
using k8s;
using Podvisor.Api;
using Podvisor.Operator.Runtime;
using Podvisor.Testing;

namespace Podvisor.Operator.Tests;

/// <summary>A real API server with Podvisor's CRDs, shared by the class.</summary>
public sealed class CrdApiServerFixture : IAsyncLifetime
{
    public KubeApiServer Server { get; private set; } = null!;

    public Kubernetes Client { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Server = await KubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        Client = Server.Client();
        await Server.ApplyCrdsAsync(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "crds"), "*.yaml").Select(File.ReadAllText),
            TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}

public sealed class InformerTests(CrdApiServerFixture fixture) : IClassFixture<CrdApiServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task Create(string ns, string name, string runStrategy = RunStrategies.Halted) =>
        fixture.Client.CustomObjects.CreateNamespacedCustomObjectAsync(Vm(ns, name, runStrategy), ApiGroup.Group, ApiGroup.Version, ns,
            "virtualmachines", cancellationToken: Ct);

    private static JsonElement Vm(string ns, string name, string runStrategy) => JsonSerializer.SerializeToElement(new VirtualMachine
    {
        Metadata = new() { Name = name, NamespaceProperty = ns },
        Spec = new()
        {
            RunStrategy = runStrategy,
            Template = new() { Spec = new() { Domain = new() { Memory = new() { Guest = "128Mi" }, Firmware = new() { KernelBoot = new() { HostPath = new() { KernelPath = "/k" } } } } } },
        },
    }, ApiJsonContext.Default.VirtualMachine);

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(20, Ct);
        }
    }

    private sealed class Running(Informer<VirtualMachine> informer, CancellationTokenSource stop, Task loop) : IAsyncDisposable
    {
        public Informer<VirtualMachine> Informer => informer;
        public ConcurrentQueue<string> Keys { get; } = new();

        public async ValueTask DisposeAsync()
        {
            stop.Cancel();
            await loop;
            stop.Dispose();
        }
    }

    private Running Start()
    {
        var informer = CustomResourceInformers.Create<VirtualMachine>(fixture.Client, "virtualmachines");
        var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var running = new Running(informer, stop, Task.Run(() => informer.RunAsync(stop.Token), Ct));
        informer.Changed += running.Keys.Enqueue;
        return running;
    }

    /// <summary>
    /// An operator stopped while an informer waited to list again after an API error (a restart during a burst did it)
    /// must stop cleanly: the wait's cancellation once escaped RunAsync and failed the operator's shutdown.
    /// </summary>
    [Fact]
    public async Task StoppedWhileWaitingToListAgainItEndsWithoutAnError()
    {
        int lists = 0;
        var informer = new Informer<VirtualMachine>(
            _ =>
            {
                Interlocked.Increment(ref lists);
                throw new HttpRequestException("connection refused");
            },
            (_, _, _) => throw new InvalidOperationException("never watched: the list always fails"));
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() => informer.RunAsync(stop.Token), Ct);
        await Eventually(() => Volatile.Read(ref lists) >= 1, "the first list");
        await Task.Delay(100, Ct);                                   // inside the 1 s wait before the next list

        await stop.CancelAsync();

        await loop.WaitAsync(TimeSpan.FromSeconds(5), Ct);          // rethrows if RunAsync ended with an exception
        Assert.True(loop.IsCompletedSuccessfully);
        Assert.Equal(1, Volatile.Read(ref lists));
    }

    [Fact]
    public async Task ListsWhatExistsThenFollowsCreatesUpdatesAndDeletes()
    {
        await fixture.Client.CoreV1.CreateNamespaceAsync(new() { Metadata = new() { Name = "inf-a" } }, cancellationToken: Ct);
        await Create("inf-a", "before");
        await using var running = Start();
        await running.Informer.Synced.WaitAsync(TimeSpan.FromSeconds(15), Ct);
        Assert.True(running.Informer.TryGet("inf-a/before", out var before));
        Assert.Equal(RunStrategies.Halted, before!.Spec.RunStrategy);

        await Create("inf-a", "after");
        await Eventually(() => running.Informer.TryGet("inf-a/after", out _), "the created VM in the cache");

        var patch = new k8s.Models.V1Patch("""{"spec":{"runStrategy":"Always"}}""", k8s.Models.V1Patch.PatchType.MergePatch);
        await fixture.Client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, ApiGroup.Group, ApiGroup.Version, "inf-a", "virtualmachines", "after", cancellationToken: Ct);
        await Eventually(() => running.Informer.TryGet("inf-a/after", out var vm) && vm!.Spec.RunStrategy == RunStrategies.Always, "the update");

        await fixture.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, "inf-a", "virtualmachines", "after", cancellationToken: Ct);
        await Eventually(() => !running.Informer.TryGet("inf-a/after", out _), "the delete");
        Assert.True(running.Keys.Count(k => k == "inf-a/after") >= 3, string.Join(", ", running.Keys));
        Assert.Equal(1, running.Informer.Lists);
    }

    [Fact]
    public async Task AGoneResourceVersionMeansListingAgainWithoutLosingChanges()
    {
        await fixture.Client.CoreV1.CreateNamespaceAsync(new() { Metadata = new() { Name = "inf-b" } }, cancellationToken: Ct);
        await using var running = Start();
        await running.Informer.Synced.WaitAsync(TimeSpan.FromSeconds(15), Ct);
        await Create("inf-b", "seen");
        await Eventually(() => running.Informer.TryGet("inf-b/seen", out _), "the first VM");

        // A version older than anything the server still has: what a long disconnect leads to.
        running.Informer.RestartWatchFrom("1");
        await Create("inf-b", "during");
        await Eventually(() => running.Informer.Lists >= 2, "a re-list after 410 Gone");
        await Eventually(() => running.Informer.TryGet("inf-b/during", out _), "the VM created meanwhile");
        Assert.True(running.Informer.TryGet("inf-b/seen", out _));
    }
}
