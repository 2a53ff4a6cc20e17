using System.Globalization;
using System.Text.Json;
using k8s;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Operator.Launcher;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator.Controllers;

/// <summary>
/// Makes a node drain move VMs instead of stopping them, per VMI and its <c>evictionStrategy</c> (<see cref="EvacuationPolicy"/>).
/// A shielded VMI gets a PodDisruptionBudget over its launcher pods, so the eviction API (what <c>kubectl drain</c> uses)
/// refuses to take the pod that runs the VM — and, while a migration is in flight, the target pod too. When the VMI's node
/// is drained (cordoned, or tainted <see cref="Evacuation.DrainTaint"/>) a VirtualMachineInstanceMigration is created for
/// it; once the VM runs elsewhere the source pod has ended, an ended pod is not protected, and the drain goes on. A failed
/// evacuation is tried again, waiting longer after each failure; a VMI that cannot move (LiveMigrate) holds the drain
/// and says why in an event. Without the budget (strategy None) a drain evicts the pod and the VM stops.
/// </summary>
public sealed class EvacuationController
{
    /// <summary>Annotation on an evacuation migration: which attempt it is for its node (1, 2, …).</summary>
    public const string AttemptAnnotation = "podvisor.io/evacuation-attempt";
    private const string Plural = "virtualmachineinstancemigrations";

    private readonly IKubernetes _client;
    private readonly Informer<VirtualMachineInstance> _vmis;
    private readonly Informer<VirtualMachineInstanceMigration> _migrations;
    private readonly Informer<V1Node> _nodes;
    private readonly Informer<V1PodDisruptionBudget> _budgetCache;
    private readonly DisruptionBudgets _budgets;
    private readonly EventRecorder _events;
    private readonly Expectations _expectations = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, bool> _draining = [];

    public EvacuationController(IKubernetes client, Informer<VirtualMachineInstance> vmis, Informer<VirtualMachineInstanceMigration> migrations,
        Informer<V1Node> nodes, Informer<V1PodDisruptionBudget> budgets, DisruptionBudgets budgetApi, EventRecorder events, Action<string>? log = null,
        int workers = 2, TimeProvider? time = null)
    {
        _client = client;
        _vmis = vmis;
        _migrations = migrations;
        _nodes = nodes;
        _budgetCache = budgets;
        _budgets = budgetApi;
        _events = events;
        _time = time ?? TimeProvider.System;
        Controller = new Controller("evacuation", ReconcileAsync, workers, log);
        vmis.Changed += Controller.Enqueue;
        budgets.ObjectChanged += budget =>
        {
            if (BudgetKeyOf(budget) is { } key) Controller.Enqueue(key);
        };
        migrations.ObjectChanged += migration =>
        {
            string key = ObjectKey.Of(migration.Metadata.NamespaceProperty, migration.Spec.VmiName ?? "");
            if (IsEvacuation(migration)) _expectations.Observed(key, exists: true);
            Controller.Enqueue(key);
        };
        nodes.ObjectChanged += node =>
        {
            // Node status changes all the time; only a drain starting, going on (retries) or ending concerns its VMIs.
            bool draining = EvacuationPolicy.IsDraining(node);
            lock (_draining)
            {
                bool was = _draining.TryGetValue(node.Metadata.Name, out bool d) && d;
                _draining[node.Metadata.Name] = draining;
                if (!draining && !was) return;
            }
            foreach (var vmi in vmis.List().Where(v => v.Status?.NodeName == node.Metadata.Name)) Controller.Enqueue(ObjectKey.Of(vmi));
        };
    }

    public Controller Controller { get; }

    /// <summary>The index of the budget informer this controller needs: a budget filed under its VMI's key.</summary>
    public static string? BudgetKeyOf(V1PodDisruptionBudget budget) =>
        budget.Metadata.Labels?.TryGetValue(LauncherLabels.Vmi, out string? name) == true ? ObjectKey.Of(budget.Metadata.NamespaceProperty, name) : null;

    private static bool IsEvacuation(VirtualMachineInstanceMigration migration) =>
        migration.Metadata.Labels?.TryGetValue(Evacuation.MigrationLabel, out string? value) == true && value == "true";

    public async Task<ReconcileResult> ReconcileAsync(string key, CancellationToken cancellationToken)
    {
        if (!_vmis.TryGet(key, out var vmi) || vmi is null)
        {
            _expectations.Delete(key);
            await DeleteBudgetsAsync(key, keepUid: null, cancellationToken);
            return ReconcileResult.Done;
        }
        string ns = vmi.Metadata.NamespaceProperty, name = vmi.Metadata.Name;
        string strategy = EvacuationPolicy.StrategyOf(vmi);
        bool ended = vmi.Metadata.DeletionTimestamp is not null || vmi.Status?.Phase is VmiPhases.Succeeded or VmiPhases.Failed;
        if (ended || strategy == EvictionStrategies.None)
        {
            await DeleteBudgetsAsync(key, keepUid: null, cancellationToken);
            if (!ended && vmi.Status?.EvacuationNodeName is not null) await SetEvacuationNodeAsync(vmi, null, cancellationToken);
            return ReconcileResult.Done;
        }

        var ofVmi = _migrations.List().Where(m => m.Metadata.NamespaceProperty == ns && m.Spec.VmiName == name).OrderBy(m => m.Metadata.CreationTimestamp).ToList();
        bool inFlight = ofVmi.Any(m => !MigrationPhases.IsFinal(m.Status?.Phase));
        bool running = vmi.Status?.Phase == VmiPhases.Running;
        // The newest migration succeeded but the cached VMI does not show it yet: where the VM runs is not known here.
        if (running && ofVmi.LastOrDefault() is { Status.Phase: MigrationPhases.Succeeded } succeeded
            && (vmi.Status!.MigrationState?.MigrationUid != succeeded.Metadata.Uid || vmi.Status.MigrationState.Completed != true))
            return ReconcileResult.After(TimeSpan.FromSeconds(1));
        // A completed migration put the VM on its target node, whether or not nodeName says so yet.
        string? nodeName = !running ? null
            : vmi.Status!.MigrationState is { Completed: true, TargetNode: { Length: > 0 } target } ? target : vmi.Status.NodeName;
        bool draining = !string.IsNullOrEmpty(nodeName) && _nodes.TryGet(nodeName, out var node) && node is not null && EvacuationPolicy.IsDraining(node);

        // The claims (a GET each) are read only when the answer matters: for LiveMigrateIfPossible it decides the budget,
        // for LiveMigrate only whether a drain can be served — and that VMI change reconciles on every status update.
        IReadOnlyList<string> problems = [];
        if (strategy == EvictionStrategies.LiveMigrateIfPossible || (strategy == EvictionStrategies.LiveMigrate && draining))
        {
            var (claims, _) = await ClaimLookup.ReadAsync(_client, vmi, cancellationToken);
            problems = MigrationPolicy.NotMigratable(vmi, claims);
        }
        bool shielded = EvacuationPolicy.Shielded(strategy, problems.Count == 0);
        if (shielded)
            await EnsureBudgetAsync(vmi, EvacuationPolicy.MinAvailable(inFlight), cancellationToken);
        else
            await DeleteBudgetsAsync(key, keepUid: null, cancellationToken);

        string? evacuating = draining && shielded ? nodeName : null;
        if (vmi.Status?.EvacuationNodeName != evacuating) await SetEvacuationNodeAsync(vmi, evacuating, cancellationToken);
        if (!draining || !EvacuationPolicy.Migrates(strategy)) return ReconcileResult.Done;
        if (problems.Count > 0)
        {
            if (strategy == EvictionStrategies.LiveMigrate)
                await _events.RecordAsync(vmi, EventRecorder.Warning, "EvacuationBlocked",
                    $"node {nodeName} is being drained, but the VM cannot be live-migrated: {string.Join("; ", problems)}. " +
                    "Its PodDisruptionBudget holds the drain until the VM is stopped or its evictionStrategy changed", cancellationToken);
            return ReconcileResult.Done;
        }
        if (inFlight) return ReconcileResult.Done;               // that migration's changes come back here
        if (!_expectations.Satisfied(key)) return ReconcileResult.After(TimeSpan.FromSeconds(1));

        var evacuations = ofVmi.Where(IsEvacuation).ToList();
        await PruneFailedAsync(evacuations, cancellationToken);
        int attempt = 1;
        if (evacuations.LastOrDefault() is { Status.Phase: MigrationPhases.Failed } last && NodeOf(last) == nodeName)
        {
            int failures = AttemptOf(last);
            var wait = FailedAt(last) + EvacuationPolicy.Backoff(failures) - _time.GetUtcNow();
            if (wait > TimeSpan.Zero) return ReconcileResult.After(wait);
            attempt = failures + 1;
        }
        await CreateMigrationAsync(vmi, nodeName!, attempt, cancellationToken);
        return ReconcileResult.Done;
    }

    /// <summary>Sets (or, with null, removes) <c>status.evacuationNodeName</c>: a merge patch, so no other status field is touched.</summary>
    private async Task SetEvacuationNodeAsync(VirtualMachineInstance vmi, string? nodeName, CancellationToken cancellationToken)
    {
        var patch = new System.Text.Json.Nodes.JsonObject
        {
            ["status"] = new System.Text.Json.Nodes.JsonObject { ["evacuationNodeName"] = nodeName },
        };
        await _client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch),
            ApiGroup.Group, ApiGroup.Version, vmi.Metadata.NamespaceProperty, "virtualmachineinstances", vmi.Metadata.Name, cancellationToken: cancellationToken);
    }

    private async Task CreateMigrationAsync(VirtualMachineInstance vmi, string nodeName, int attempt, CancellationToken cancellationToken)
    {
        string key = ObjectKey.Of(vmi), ns = vmi.Metadata.NamespaceProperty;
        var migration = new VirtualMachineInstanceMigration
        {
            Metadata = new V1ObjectMeta
            {
                GenerateName = $"{vmi.Metadata.Name}-evacuation-", NamespaceProperty = ns,
                Labels = new Dictionary<string, string> { [Evacuation.MigrationLabel] = "true" },
                Annotations = new Dictionary<string, string>
                {
                    [Evacuation.NodeAnnotation] = nodeName, [AttemptAnnotation] = attempt.ToString(CultureInfo.InvariantCulture),
                },
            },
            Spec = new VirtualMachineInstanceMigrationSpec { VmiName = vmi.Metadata.Name },
        };
        _expectations.Expect(key, adds: 1);
        JsonElement created;
        try
        {
            created = (JsonElement)await _client.CustomObjects.CreateNamespacedCustomObjectAsync(
                JsonSerializer.SerializeToElement(migration, ApiJsonContext.Default.VirtualMachineInstanceMigration),
                ApiGroup.Group, ApiGroup.Version, ns, Plural, cancellationToken: cancellationToken);
        }
        catch
        {
            _expectations.Observed(key, exists: true);            // nothing will come: do not wait for it
            throw;
        }
        string createdName = created.GetProperty("metadata").GetProperty("name").GetString()!;
        await _events.RecordAsync(vmi, EventRecorder.Normal, "Evacuating",
            $"node {nodeName} is being drained: live-migrating the VM to another node (migration {createdName}" +
            (attempt > 1 ? $", attempt {attempt})" : ")"), cancellationToken);
    }

    /// <summary>Deletes all but the newest <see cref="EvacuationPolicy.FailedKept"/> failed evacuations of the VMI.</summary>
    private async Task PruneFailedAsync(List<VirtualMachineInstanceMigration> evacuations, CancellationToken cancellationToken)
    {
        var failed = evacuations.Where(m => m.Status?.Phase == MigrationPhases.Failed).ToList();
        foreach (var old in failed.Take(Math.Max(0, failed.Count - EvacuationPolicy.FailedKept)))
        {
            try
            {
                await _client.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, old.Metadata.NamespaceProperty, Plural,
                    old.Metadata.Name, cancellationToken: cancellationToken);
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
            }
        }
    }

    private static string? NodeOf(VirtualMachineInstanceMigration migration) =>
        migration.Metadata.Annotations?.TryGetValue(Evacuation.NodeAnnotation, out string? node) == true ? node : null;

    private static int AttemptOf(VirtualMachineInstanceMigration migration) =>
        migration.Metadata.Annotations?.TryGetValue(AttemptAnnotation, out string? text) == true
        && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 1;

    private static DateTimeOffset FailedAt(VirtualMachineInstanceMigration migration) =>
        migration.Status?.PhaseTransitionTimestamps?.LastOrDefault(p => p.Phase == MigrationPhases.Failed)?.PhaseTransitionTimestamp
        ?? new DateTimeOffset(DateTime.SpecifyKind(migration.Metadata.CreationTimestamp ?? DateTime.UtcNow, DateTimeKind.Utc));

    private async Task EnsureBudgetAsync(VirtualMachineInstance vmi, int minAvailable, CancellationToken cancellationToken)
    {
        string ns = vmi.Metadata.NamespaceProperty, uid = vmi.Metadata.Uid, key = ObjectKey.Of(vmi);
        // Budgets of an earlier VMI of this name go; this one's is made, or set to what it must keep now.
        await DeleteBudgetsAsync(key, keepUid: uid, cancellationToken);
        var existing = _budgetCache.ByIndex(key).FirstOrDefault(b => b.Metadata.Name == Evacuation.BudgetName(uid));
        if (existing is null)
        {
            await _budgets.CreateUnlessPresentAsync(new V1PodDisruptionBudget
            {
                Metadata = new V1ObjectMeta
                {
                    Name = Evacuation.BudgetName(uid), NamespaceProperty = ns,
                    Labels = new Dictionary<string, string>
                    {
                        [LauncherLabels.Component] = Evacuation.BudgetComponent, [LauncherLabels.Vmi] = vmi.Metadata.Name, [LauncherLabels.CreatedBy] = uid,
                    },
                    OwnerReferences = [LauncherPodBuilder.OwnedBy(vmi)],
                },
                Spec = new V1PodDisruptionBudgetSpec
                {
                    MinAvailable = minAvailable,
                    Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [LauncherLabels.CreatedBy] = uid } },
                },
            }, cancellationToken);
        }
        else if (existing.Spec?.MinAvailable?.Value != minAvailable.ToString(CultureInfo.InvariantCulture))
        {
            await _budgets.SetMinAvailableAsync(ns, existing.Metadata.Name, minAvailable, cancellationToken);
        }
    }

    /// <summary>Deletes the cached budgets made for VMIs of this key, except the one of <paramref name="keepUid"/>.</summary>
    private async Task DeleteBudgetsAsync(string key, string? keepUid, CancellationToken cancellationToken)
    {
        foreach (var budget in _budgetCache.ByIndex(key).Where(b => b.Metadata.DeletionTimestamp is null))
        {
            if (keepUid is not null && budget.Metadata.Name == Evacuation.BudgetName(keepUid)) continue;
            await _budgets.DeleteIfPresentAsync(budget.Metadata.NamespaceProperty, budget.Metadata.Name, cancellationToken);
        }
    }
}
