using System.Globalization;
using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Api.Control;
using Podvisor.Operator.Controllers;
using Podvisor.Operator.Runtime;
using Podvisor.Testing;

namespace Podvisor.Operator.Tests;

/// <summary>
/// Node drains against a real API server (its eviction API and PodDisruptionBudgets), with <see cref="FakeNodes"/> as
/// scheduler and kubelets of two nodes and <see cref="FakeLaunchers"/> as the launchers: <c>kubectl drain</c> waits while
/// a LiveMigrate VM moves and then finishes; a VM that cannot move holds the drain and says why; a failed evacuation is
/// tried again later.
/// </summary>
public sealed class EvacuationControllerTests(CrdApiServerFixture fixture) : IClassFixture<CrdApiServerFixture>
{
    private const string Plural = "virtualmachineinstancemigrations";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly Cluster _cluster = new(fixture.Client);
    private readonly FakeLaunchers _launchers = new();
    private IKubernetes Client => fixture.Client;

    private async Task<VirtualMachineInstance> RunningVmi(string ns, string name, string strategy, bool emptyDisk = false)
    {
        await _cluster.CreateVmi(ns, name, spec =>
        {
            spec.EvictionStrategy = strategy;
            if (!emptyDisk) return;
            spec.Domain!.Devices = new Devices { Disks = [new Disk { Name = "scratch" }] };
            spec.Volumes = [new Volume { Name = "scratch", EmptyDisk = new EmptyDiskSource { Capacity = "1Gi" } }];
        });
        var vmi = await Cluster.Eventually(() => _cluster.Vmi(ns, name), v => v?.Status?.Phase == VmiPhases.Running, $"VMI {name} Running");
        Assert.Equal($"{ns}-a", vmi!.Status!.NodeName);
        return vmi;
    }

    private async Task<IReadOnlyList<VirtualMachineInstanceMigration>> Migrations(string ns)
    {
        var list = (JsonElement)await Client.CustomObjects.ListNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, Plural, cancellationToken: Ct);
        return [.. list.GetProperty("items").EnumerateArray().Select(e => e.Deserialize(ApiJsonContext.Default.VirtualMachineInstanceMigration)!)
            .OrderBy(m => m.Metadata.CreationTimestamp)];
    }

    private async Task<V1PodDisruptionBudget?> Budget(VirtualMachineInstance vmi)
    {
        string version = await new DisruptionBudgets(Client).VersionAsync(Ct);
        try
        {
            var element = (JsonElement)await Client.CustomObjects.GetNamespacedCustomObjectAsync("policy", version, vmi.Metadata.NamespaceProperty,
                "poddisruptionbudgets", Evacuation.BudgetName(vmi.Metadata.Uid), Ct);
            return KubernetesJson.Deserialize<V1PodDisruptionBudget>(element.GetRawText());
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>What <c>kubectl drain</c> does to each pod: the eviction API (policy/v1beta1 on this server).</summary>
    private Task Evict(V1Pod pod) =>
        Client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction
        {
            ApiVersion = "policy/v1beta1", Kind = "Eviction",
            Metadata = new V1ObjectMeta { Name = pod.Metadata.Name, NamespaceProperty = pod.Metadata.NamespaceProperty },
        }, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: Ct);

    private async Task<IList<Corev1Event>> Events(VirtualMachineInstance vmi) =>
        (await Client.CoreV1.ListNamespacedEventAsync(vmi.Metadata.NamespaceProperty, fieldSelector: $"involvedObject.uid={vmi.Metadata.Uid}", cancellationToken: Ct)).Items;

    [Fact]
    public async Task KubectlDrainWaitsWhileALiveMigrateVmMovesAndFinishesOnceItRunsElsewhere()
    {
        string ns = await _cluster.Namespace("evacuate-drain");
        await using var nodes = await _cluster.TwoNodes(ns);
        await using var op = new InProcessOperator(Client, launchers: _launchers);
        var web = await RunningVmi(ns, "web", EvictionStrategies.LiveMigrate);
        var scratch = await RunningVmi(ns, "scratch", EvictionStrategies.None);
        var budget = await Cluster.Eventually(() => Budget(web), b => b is not null, "web's disruption budget");
        Assert.Equal("1", budget!.Spec.MinAvailable.Value);
        Assert.Equal(web.Metadata.Uid, budget.Spec.Selector.MatchLabels[LauncherLabels.CreatedBy]);
        Assert.Null(await Budget(scratch));
        var source = Assert.Single(await _cluster.Pods(ns, "web"));

        var drain = Kubectl.Tool.TryRunAsync(fixture.Server.KubeconfigPath,
            ["drain", $"{ns}-a", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s"], Ct);

        var migration = (await Cluster.Eventually(() => Migrations(ns), l => l.Count > 0 && l[0].Status?.Phase == MigrationPhases.Running,
            "an evacuation migration Running"))[0];
        Assert.Equal("web", migration.Spec.VmiName);
        Assert.Equal($"{ns}-a", (await _cluster.Vmi(ns, "web"))!.Status!.EvacuationNodeName);
        Assert.Null((await _cluster.Vmi(ns, "scratch"))?.Status?.EvacuationNodeName);
        Assert.Equal("true", migration.Metadata.Labels[Evacuation.MigrationLabel]);
        Assert.Equal($"{ns}-a", migration.Metadata.Annotations[Evacuation.NodeAnnotation]);
        // While both pods exist the budget keeps both; the VM without a budget was evicted, not migrated.
        await Cluster.Eventually(() => Budget(web), b => b?.Spec.MinAvailable.Value == "2", "the budget keeping source and target");
        await Cluster.Eventually(() => _cluster.Pods(ns, "scratch"), p => p.Count == 0, "scratch's pod evicted");
        Assert.False(drain.IsCompleted, "the drain must wait for the migrating VM");
        Assert.Single(await _cluster.Pods(ns, "web"), p => p.Metadata.Name == source.Metadata.Name && p.Metadata.DeletionTimestamp is null);

        var done = _launchers.Complete(source.Metadata.Name);
        await _cluster.EndPod(source, 0, JsonSerializer.Serialize(done, ControlApiJson.Default.LauncherMigrationStatus));
        var (exitCode, output, errors) = await drain.WaitAsync(TimeSpan.FromSeconds(90), Ct);
        Assert.True(exitCode == 0, $"kubectl drain: exit {exitCode}: {output} {errors}");
        Assert.Contains($"node/{ns}-a drained", output);

        var moved = await Cluster.Eventually(() => _cluster.Vmi(ns, "web"), v => v?.Status?.NodeName == $"{ns}-b", "web on the other node");
        Assert.Equal(VmiPhases.Running, moved!.Status!.Phase);
        await Cluster.Eventually(() => _cluster.Vmi(ns, "web"), v => v?.Status?.EvacuationNodeName is null, "evacuationNodeName cleared once the VM left");
        Assert.Equal(MigrationPhases.Succeeded, (await Migrations(ns)).Single().Status!.Phase);
        var left = Assert.Single(await _cluster.Pods(ns, "web"));
        Assert.Equal($"{ns}-b", left.Spec.NodeName);
        await Cluster.Eventually(() => Budget(web), b => b?.Spec.MinAvailable.Value == "1", "the budget back to the one pod");
        Assert.Contains(await Events(web), e => e.Reason == "Evacuating" && e.Message.Contains(migration.Metadata.Name));
        Assert.Single(await Migrations(ns));                                        // one evacuation, nothing made twice
    }

    [Fact]
    public async Task AVmThatCannotMoveHoldsTheDrainAndSaysWhyUnlessItsStrategyLetsItStop()
    {
        string ns = await _cluster.Namespace("evacuate-stuck");
        await using var nodes = await _cluster.TwoNodes(ns);
        await using var op = new InProcessOperator(Client, launchers: _launchers);
        var db = await RunningVmi(ns, "db", EvictionStrategies.LiveMigrate, emptyDisk: true);
        var cache = await RunningVmi(ns, "cache", EvictionStrategies.LiveMigrateIfPossible, emptyDisk: true);
        await Cluster.Eventually(() => Budget(db), b => b is not null, "db's disruption budget");

        await Client.CoreV1.PatchNodeAsync(new V1Patch("""{"spec":{"unschedulable":true}}""", V1Patch.PatchType.MergePatch), $"{ns}-a", cancellationToken: Ct);
        var blocked = await Cluster.Eventually(() => Events(db), l => l.Any(e => e.Reason == "EvacuationBlocked"), "an EvacuationBlocked event");
        Assert.Contains("emptyDisk", blocked.Single(e => e.Reason == "EvacuationBlocked").Message);
        Assert.Null(await Budget(cache));

        var dbPod = Assert.Single(await _cluster.Pods(ns, "db"));
        var refused = await Assert.ThrowsAsync<HttpOperationException>(() => Evict(dbPod));
        Assert.Equal((HttpStatusCode)429, refused.Response.StatusCode);
        await Evict(Assert.Single(await _cluster.Pods(ns, "cache")));              // nothing holds it: it stops, as with None
        await Cluster.Eventually(() => _cluster.Pods(ns, "cache"), p => p.Count == 0, "cache's pod evicted");
        Assert.Empty(await Migrations(ns));
        Assert.Single(await _cluster.Pods(ns, "db"), p => p.Metadata.DeletionTimestamp is null);
    }

    [Fact]
    public async Task AnExternalVmHoldsTheDrainAndIsMarkedForItsMover()
    {
        string ns = await _cluster.Namespace("evacuate-external");
        await using var nodes = await _cluster.TwoNodes(ns);
        await using var op = new InProcessOperator(Client, launchers: _launchers);
        var vmi = await RunningVmi(ns, "app", EvictionStrategies.External);
        await Cluster.Eventually(() => Budget(vmi), b => b is not null, "app's disruption budget");
        Assert.Null(vmi.Status!.EvacuationNodeName);

        await Client.CoreV1.PatchNodeAsync(new V1Patch("""{"spec":{"unschedulable":true}}""", V1Patch.PatchType.MergePatch), $"{ns}-a", cancellationToken: Ct);
        // KubeVirt's signal for the external mover: the node the VM must leave.
        await Cluster.Eventually(() => _cluster.Vmi(ns, "app"), v => v?.Status?.EvacuationNodeName == $"{ns}-a", "status.evacuationNodeName set");
        var pod = Assert.Single(await _cluster.Pods(ns, "app"));
        var refused = await Assert.ThrowsAsync<HttpOperationException>(() => Evict(pod));
        Assert.Equal((HttpStatusCode)429, refused.Response.StatusCode);
        await Task.Delay(500, Ct);
        Assert.Empty(await Migrations(ns));                                         // moving it is the mover's job, not ours

        await Client.CoreV1.PatchNodeAsync(new V1Patch("""{"spec":{"unschedulable":false}}""", V1Patch.PatchType.MergePatch), $"{ns}-a", cancellationToken: Ct);
        var after = await Cluster.Eventually(() => _cluster.Vmi(ns, "app"), v => v?.Status?.EvacuationNodeName is null, "status.evacuationNodeName cleared");
        Assert.Equal(VmiPhases.Running, after!.Status!.Phase);
    }

    [Fact]
    public async Task AFailedEvacuationIsTriedAgainAfterABackOff()
    {
        string ns = await _cluster.Namespace("evacuate-retry");
        await using var nodes = await _cluster.TwoNodes(ns);
        await using var op = new InProcessOperator(Client, launchers: _launchers);
        await RunningVmi(ns, "web", EvictionStrategies.LiveMigrate);
        var source = Assert.Single(await _cluster.Pods(ns, "web"));

        // The drain taint asks for the same as a cordon.
        await Client.CoreV1.PatchNodeAsync(new V1Patch($$$"""{"spec":{"taints":[{"key":"{{{Evacuation.DrainTaint}}}","value":"maintenance","effect":"NoSchedule"}]}}""",
            V1Patch.PatchType.MergePatch), $"{ns}-a", cancellationToken: Ct);
        await Cluster.Eventually(() => Migrations(ns), l => l.Count == 1 && l[0].Status?.Phase == MigrationPhases.Running, "the first evacuation Running");
        _launchers.Fail(source.Metadata.Name, "the link went down");
        var first = (await Cluster.Eventually(() => Migrations(ns), l => l[0].Status?.Phase == MigrationPhases.Failed, "the first evacuation Failed"))[0];
        var failedAt = first.Status!.PhaseTransitionTimestamps!.Single(p => p.Phase == MigrationPhases.Failed).PhaseTransitionTimestamp;
        Assert.Equal(VmiPhases.Running, (await _cluster.Vmi(ns, "web"))!.Status!.Phase);

        var second = (await Cluster.Eventually(() => Migrations(ns), l => l.Count == 2, "a second evacuation", seconds: 40))[1];
        Assert.Equal("2", second.Metadata.Annotations[EvacuationController.AttemptAnnotation]);
        var waited = new DateTimeOffset(DateTime.SpecifyKind(second.Metadata.CreationTimestamp!.Value, DateTimeKind.Utc)) - failedAt;
        Assert.True(waited >= EvacuationPolicy.FirstBackoff - TimeSpan.FromSeconds(1), $"the second attempt came {waited.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s after the failure");
        await Cluster.Eventually(() => Migrations(ns), l => l[1].Status?.Phase == MigrationPhases.Running, "the second evacuation Running");
    }
}
