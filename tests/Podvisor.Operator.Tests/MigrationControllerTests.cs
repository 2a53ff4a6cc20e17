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
/// The migration controller against a real API server, <see cref="FakeNodes"/> playing scheduler and kubelets of two
/// nodes and <see cref="FakeLaunchers"/> the launchers' control APIs: the phases in order, the target pod made once and
/// kept off the source's node, the VMI moved only when the target runs it, and every failure (target lost, cancel,
/// a VMI that cannot move) leaving the VM where it was.
/// </summary>
public sealed class MigrationControllerTests(CrdApiServerFixture fixture) : IClassFixture<CrdApiServerFixture>
{
    private const string Plural = "virtualmachineinstancemigrations";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly Cluster _cluster = new(fixture.Client);
    private readonly FakeLaunchers _launchers = new();
    private IKubernetes Client => fixture.Client;

    private Task CreateMigration(string ns, string name, string vmi) =>
        Client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToElement(new VirtualMachineInstanceMigration
        {
            Metadata = new() { Name = name, NamespaceProperty = ns },
            Spec = new() { VmiName = vmi },
        }, ApiJsonContext.Default.VirtualMachineInstanceMigration), ApiGroup.Group, ApiGroup.Version, ns, Plural, cancellationToken: Ct);

    private async Task<VirtualMachineInstanceMigration?> Migration(string ns, string name)
    {
        try
        {
            var element = (JsonElement)await Client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, Plural, name, cancellationToken: Ct);
            return element.Deserialize(ApiJsonContext.Default.VirtualMachineInstanceMigration);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private Task<VirtualMachineInstanceMigration?> MigrationIn(string ns, string name, params string[] phases) =>
        Cluster.Eventually(() => Migration(ns, name), m => phases.Contains(m?.Status?.Phase), $"migration {name} {string.Join(" or ", phases)}");

    /// <summary>A running VMI on node-a.</summary>
    private async Task<(VirtualMachineInstance Vmi, V1Pod Source)> RunningVmi(string ns, string name, Action<VirtualMachineInstanceSpec>? customize = null)
    {
        await _cluster.CreateVmi(ns, name, customize);
        var vmi = await Cluster.Eventually(() => _cluster.Vmi(ns, name), v => v?.Status?.Phase == VmiPhases.Running, $"VMI {name} Running");
        var source = Assert.Single(await _cluster.Pods(ns, name));
        Assert.Equal($"{ns}-a", source.Spec.NodeName);
        return (vmi!, source);
    }

    [Fact]
    public async Task ARunningVmiMovesToTheOtherNodeOnlyOnceTheTargetRunsIt()
    {
        string ns = await _cluster.Namespace("migrate-ok");
        await using var nodes = await _cluster.TwoNodes(ns);
        await using var op = new InProcessOperator(Client, launchers: _launchers);
        var (vmi, source) = await RunningVmi(ns, "web");
        var spans = new System.Collections.Concurrent.ConcurrentQueue<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == OperatorTelemetry.Name,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);

        await CreateMigration(ns, "move", "web");
        var running = await MigrationIn(ns, "move", MigrationPhases.Running);
        var pods = await _cluster.Pods(ns, "web");
        Assert.Equal(2, pods.Count);
        var target = Assert.Single(pods, p => p.Metadata.Labels.ContainsKey(LauncherLabels.MigrationTarget));
        Assert.Equal(running!.Metadata.Uid, target.Metadata.Labels[LauncherLabels.MigrationTarget]);
        Assert.Equal($"{ns}-b", target.Spec.NodeName);
        var avoid = Assert.Single(Assert.Single(target.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms).MatchExpressions);
        Assert.Equal(("kubernetes.io/hostname", "NotIn", $"{ns}-a"), (avoid.Key, avoid.OperatorProperty, Assert.Single(avoid.Values)));
        var command = target.Spec.Containers[0].Command;
        Assert.Equal(running.Metadata.Uid, command[command.IndexOf("--migration-target") + 1]);
        var tlsVolume = Assert.Single(target.Spec.Volumes, v => v.Secret?.SecretName == LauncherLabels.MigrationSecretName(running.Metadata.Uid));
        Assert.Contains(target.Spec.Containers[0].VolumeMounts, m => m.Name == tlsVolume.Name && m.MountPath == LauncherPaths.MigrationDirectory);
        var secret = await Client.CoreV1.ReadNamespacedSecretAsync(tlsVolume.Secret.SecretName, ns, cancellationToken: Ct);
        var material = TlsMaterial.FromSecretData(secret.Data)!;

        // The source was asked with the target's address and the migration's credentials; the VMI says where it goes.
        var request = _launchers.Requests[source.Metadata.Name];
        Assert.Equal((running.Metadata.Uid, target.Status.PodIP, LauncherLabels.MigrationPort), (request.MigrationUid, request.TargetAddress, request.TargetPort));
        Assert.Equal(material.CertificatePem, request.Tls.CertificatePem);
        var during = await _cluster.Vmi(ns, "web");
        var state = during!.Status!.MigrationState!;
        Assert.Equal((running.Metadata.Uid, $"{ns}-a", source.Metadata.Name, $"{ns}-b", target.Metadata.Name),
            (state.MigrationUid, state.SourceNode, state.SourcePod, state.TargetNode, state.TargetPod));
        Assert.NotNull(state.StartTimestamp);
        Assert.Null(state.Completed);

        // The source ends as the launcher does after a handover; until the migration is done that is not the VM ending.
        var done = _launchers.Complete(source.Metadata.Name);
        await _cluster.EndPod(source, 0, JsonSerializer.Serialize(done, ControlApiJson.Default.LauncherMigrationStatus));
        var succeeded = await MigrationIn(ns, "move", MigrationPhases.Succeeded, MigrationPhases.Failed);
        Assert.True(succeeded!.Status!.Phase == MigrationPhases.Succeeded, JsonSerializer.Serialize(succeeded.Status, ApiJsonContext.Default.VirtualMachineInstanceMigrationStatus));
        Assert.Equal((42.0, 300L << 20, 3), (succeeded.Status.DowntimeMilliseconds, succeeded.Status.BytesTransferred, succeeded.Status.Iterations));
        string[] phases = [.. succeeded.Status.PhaseTransitionTimestamps!.Select(p => p.Phase)];
        Assert.Equal(phases.Distinct(), phases);
        Assert.Equal([MigrationPhases.Scheduling, MigrationPhases.Running, MigrationPhases.Succeeded], phases.Where(p => p is MigrationPhases.Scheduling or MigrationPhases.Running or MigrationPhases.Succeeded));
        // Each phase it left is a span of the migration's trace, from its transition to the next one's.
        var trace = MigrationTrace.ContextOf(succeeded.Metadata.Uid);
        var phaseSpans = spans.Where(s => s.TraceId == trace.TraceId).ToList();
        Assert.Equal(phases[..^1].Select(p => $"migration {p}"), phaseSpans.Select(s => s.DisplayName));
        Assert.All(phaseSpans, s => Assert.Equal(trace.SpanId, s.ParentSpanId));
        var runningSpan = phaseSpans.Single(s => s.DisplayName == "migration Running");
        Assert.Equal(succeeded.Status.PhaseTransitionTimestamps!.Single(p => p.Phase == MigrationPhases.Running).PhaseTransitionTimestamp, new DateTimeOffset(runningSpan.StartTimeUtc));

        var moved = await Cluster.Eventually(() => _cluster.Vmi(ns, "web"), v => v?.Status?.NodeName == $"{ns}-b", "the VMI on the other node");
        Assert.Equal(VmiPhases.Running, moved!.Status!.Phase);
        Assert.True(Conditions.IsTrue(moved.Status.Conditions, ConditionTypes.Ready));
        Assert.True(moved.Status.MigrationState!.Completed);
        Assert.NotNull(moved.Status.MigrationState.EndTimestamp);
        await Cluster.Eventually(async () => (await Client.CoreV1.ListNamespacedSecretAsync(ns, cancellationToken: Ct)).Items.Count(s => s.Metadata.Name.StartsWith("podvisor-migration-")),
            n => n == 0, "the migration's Secret deleted");
        await Task.Delay(500, Ct);
        Assert.Equal(VmiPhases.Running, (await _cluster.Vmi(ns, "web"))!.Status!.Phase);
        Assert.Equal(2, (await _cluster.Pods(ns, "web")).Count);        // nothing made twice
    }

    [Fact]
    public async Task AVmiWithANodeLocalDiskIsRefusedSayingWhyAndStaysWhereItIs()
    {
        string ns = await _cluster.Namespace("migrate-local");
        await using var nodes = await _cluster.TwoNodes(ns);
        await using var op = new InProcessOperator(Client, launchers: _launchers);
        await RunningVmi(ns, "db", spec =>
        {
            spec.Domain!.Devices = new Devices { Disks = [new Disk { Name = "scratch" }] };
            spec.Volumes = [new Volume { Name = "scratch", EmptyDisk = new EmptyDiskSource { Capacity = "1Gi" } }];
        });
        await CreateMigration(ns, "move", "db");
        var failed = await MigrationIn(ns, "move", MigrationPhases.Failed);
        var ready = Conditions.Find(failed!.Status!.Conditions, ConditionTypes.Ready)!;
        Assert.Equal(ConditionReasons.MigrationFailed, ready.Reason);
        Assert.Contains("volume scratch: an emptyDisk lives on the source node", ready.Message);
        Assert.Single(await _cluster.Pods(ns, "db"));
        Assert.Empty(_launchers.Calls);
        Assert.Equal($"{ns}-a", (await _cluster.Vmi(ns, "db"))!.Status!.NodeName);
    }

    [Fact]
    public async Task LosingTheTargetMidwayCancelsAtTheSourceAndTheVmStaysThere()
    {
        string ns = await _cluster.Namespace("migrate-lost");
        await using var nodes = await _cluster.TwoNodes(ns);
        await using var op = new InProcessOperator(Client, launchers: _launchers);
        var (_, source) = await RunningVmi(ns, "web");
        await CreateMigration(ns, "move", "web");
        await MigrationIn(ns, "move", MigrationPhases.Running);
        var target = Assert.Single(await _cluster.Pods(ns, "web"), p => p.Metadata.Labels.ContainsKey(LauncherLabels.MigrationTarget));

        await _cluster.EndPod(target, 137, "killed");
        var failed = await MigrationIn(ns, "move", MigrationPhases.Failed);
        Assert.Contains($"cancel {source.Metadata.Name}", _launchers.Calls);
        Assert.Contains("cancelled", Conditions.Find(failed!.Status!.Conditions, ConditionTypes.Ready)!.Message);
        await Cluster.Eventually(() => _cluster.Pods(ns, "web"), pods => pods.Count == 1, "the target pod deleted");
        var vmi = await _cluster.Vmi(ns, "web");
        Assert.Equal((VmiPhases.Running, $"{ns}-a"), (vmi!.Status!.Phase, vmi.Status.NodeName));
        Assert.True(vmi.Status.MigrationState!.Failed);
        Assert.NotEqual(true, vmi.Status.MigrationState.Completed);
    }

    /// <summary>
    /// A migration under way whose target launcher, like a real one, is ready only once it runs the VM; then the source
    /// is killed without a word (no termination message: SIGKILL, or its node lost).
    /// </summary>
    private async Task<(V1Pod Source, V1Pod Target)> SourceKilledMidway(string ns, FakeNodes nodes)
    {
        nodes.Behaviour = (pod, ip) => FakeNodes.Status(pod, ip, ready: !pod.Metadata.Labels.ContainsKey(LauncherLabels.MigrationTarget));
        var (_, source) = await RunningVmi(ns, "web");
        await CreateMigration(ns, "move", "web");
        await MigrationIn(ns, "move", MigrationPhases.Running);
        var target = Assert.Single(await _cluster.Pods(ns, "web"), p => p.Metadata.Labels.ContainsKey(LauncherLabels.MigrationTarget));
        await _cluster.EndPod(source, 137, "");
        // Only the target knows whether Go reached it: until it says, nothing is decided and nothing is deleted.
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
        Assert.Equal(MigrationPhases.Running, (await Migration(ns, "move"))!.Status!.Phase);
        Assert.Equal(2, (await _cluster.Pods(ns, "web")).Count(p => p.Metadata.DeletionTimestamp is null));
        Assert.Equal(VmiPhases.Running, (await _cluster.Vmi(ns, "web"))!.Status!.Phase);
        return (source, target);
    }

    [Fact]
    public async Task ASourceKilledAfterTheHandoverLeavesTheVmOnTheTarget()
    {
        string ns = await _cluster.Namespace("migrate-source-gone");
        await using var nodes = await _cluster.TwoNodes(ns);
        await using var op = new InProcessOperator(Client, launchers: _launchers);
        var (_, target) = await SourceKilledMidway(ns, nodes);

        // Go had left: the target runs the VM, and its readiness probe passes.
        _launchers.TargetRuns(target);
        await _cluster.SetReady(target);
        var succeeded = await MigrationIn(ns, "move", MigrationPhases.Succeeded, MigrationPhases.Failed);
        Assert.True(succeeded!.Status!.Phase == MigrationPhases.Succeeded, JsonSerializer.Serialize(succeeded.Status, ApiJsonContext.Default.VirtualMachineInstanceMigrationStatus));
        Assert.Equal(200L << 20, succeeded.Status.BytesTransferred);               // what the target received: the source told nothing
        var moved = await Cluster.Eventually(() => _cluster.Vmi(ns, "web"), v => v?.Status?.NodeName == $"{ns}-b", "the VMI on the target's node");
        Assert.Equal(VmiPhases.Running, moved!.Status!.Phase);
        Assert.True(moved.Status.MigrationState!.Completed);
        Assert.Contains(await _cluster.Pods(ns, "web"), p => p.Metadata.Name == target.Metadata.Name && p.Metadata.DeletionTimestamp is null);
    }

    [Fact]
    public async Task ASourceKilledBeforeTheHandoverFailsTheMigrationAndTheTargetNeverRunsTheVm()
    {
        string ns = await _cluster.Namespace("migrate-source-lost");
        await using var nodes = await _cluster.TwoNodes(ns);
        await using var op = new InProcessOperator(Client, launchers: _launchers);
        var (source, target) = await SourceKilledMidway(ns, nodes);

        // Go never came: the target's link broke and it gave up.
        _launchers.TargetFails(target, "the link to the source broke: connection reset by peer");
        var failed = await MigrationIn(ns, "move", MigrationPhases.Failed, MigrationPhases.Succeeded);
        string message = Conditions.Find(failed!.Status!.Conditions, ConditionTypes.Ready)?.Message ?? "(no Ready condition)";
        Assert.True(failed.Status.Phase == MigrationPhases.Failed, message);
        Assert.Contains($"the source pod {source.Metadata.Name} ended without handing the VM over", message);
        Assert.Contains("the target reports: the link to the source broke", message);
        await Cluster.Eventually(() => _cluster.Pods(ns, "web"), pods => !pods.Any(p => p.Metadata.Name == target.Metadata.Name && p.Metadata.DeletionTimestamp is null),
            "the target pod deleted");
        // The VM died with its source; it is not running anywhere, and the VMI says so. Two controllers write those
        // (the VMI's phase, the migration's outcome in migrationState): either may land first, both must land.
        var vmi = await Cluster.Eventually(() => _cluster.Vmi(ns, "web"), v => v?.Status?.Phase == VmiPhases.Failed && v.Status.MigrationState?.Failed == true,
            "the VMI Failed, its migrationState failed");
        Assert.True(vmi!.Status!.MigrationState!.Failed);
        Assert.NotEqual(true, vmi.Status.MigrationState.Completed);
        Assert.Equal($"{ns}-a", vmi.Status.NodeName);
    }

    [Fact]
    public async Task DeletingAMigrationUnderWayCancelsIt()
    {
        string ns = await _cluster.Namespace("migrate-cancel");
        await using var nodes = await _cluster.TwoNodes(ns);
        await using var op = new InProcessOperator(Client, launchers: _launchers);
        var (_, source) = await RunningVmi(ns, "web");
        await CreateMigration(ns, "move", "web");
        await MigrationIn(ns, "move", MigrationPhases.Running);

        await _cluster.Delete(ns, Plural, "move");
        await Cluster.Eventually(() => Migration(ns, "move"), m => m is null, "the migration gone");
        Assert.Contains($"cancel {source.Metadata.Name}", _launchers.Calls);
        await Cluster.Eventually(() => _cluster.Pods(ns, "web"), pods => pods.Count == 1, "the target pod deleted");
        var state = (await _cluster.Vmi(ns, "web"))!.Status!.MigrationState!;
        Assert.Equal((true, "Succeeded", true), (state.AbortRequested, state.AbortStatus, state.Failed));
        Assert.Equal(VmiPhases.Running, (await _cluster.Vmi(ns, "web"))!.Status!.Phase);
    }

    [Fact]
    public async Task AnOperatorRestartedMidwayCarriesOnWithoutASecondTarget()
    {
        string ns = await _cluster.Namespace("migrate-restart");
        await using var nodes = await _cluster.TwoNodes(ns);
        V1Pod source;
        await using (var first = new InProcessOperator(Client, launchers: _launchers))
        {
            (_, source) = await RunningVmi(ns, "web");
            await CreateMigration(ns, "move", "web");
            await MigrationIn(ns, "move", MigrationPhases.Scheduling, MigrationPhases.Scheduled, MigrationPhases.PreparingTarget, MigrationPhases.TargetReady,
                MigrationPhases.Running);
        }
        await using var second = new InProcessOperator(Client, launchers: _launchers);
        await MigrationIn(ns, "move", MigrationPhases.Running);
        _launchers.Complete(source.Metadata.Name);
        await MigrationIn(ns, "move", MigrationPhases.Succeeded);
        Assert.Equal(1, (await _cluster.Pods(ns, "web")).Count(p => p.Metadata.Labels.ContainsKey(LauncherLabels.MigrationTarget)));
        Assert.Equal($"{ns}-b", (await Cluster.Eventually(() => _cluster.Vmi(ns, "web"), v => v?.Status?.NodeName == $"{ns}-b", "the VMI on the other node"))!.Status!.NodeName);
    }

    [Fact]
    public async Task ASecondMigrationOfTheSameVmiWaitsItsTurn()
    {
        string ns = await _cluster.Namespace("migrate-queue");
        await using var nodes = await _cluster.TwoNodes(ns);
        await using var op = new InProcessOperator(Client, launchers: _launchers);
        await RunningVmi(ns, "web");
        await CreateMigration(ns, "first", "web");
        await MigrationIn(ns, "first", MigrationPhases.Running);
        await CreateMigration(ns, "second", "web");
        var waiting = await Cluster.Eventually(() => Migration(ns, "second"), m => Conditions.Find(m?.Status?.Conditions, ConditionTypes.Ready)?.Reason == ConditionReasons.MigrationWaiting,
            "the second migration waiting");
        Assert.Equal(MigrationPhases.Pending, waiting!.Status!.Phase);
        Assert.Contains("another migration of migrate-queue/web is under way", Conditions.Find(waiting.Status.Conditions, ConditionTypes.Ready)!.Message);
        Assert.Equal(1, (await _cluster.Pods(ns, "web")).Count(p => p.Metadata.Labels.ContainsKey(LauncherLabels.MigrationTarget)));
    }
}
