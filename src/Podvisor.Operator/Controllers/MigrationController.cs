using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Api.Control;
using Podvisor.Operator.Launcher;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator.Controllers;

/// <summary>
/// Moves a running VMI to another node for each VirtualMachineInstanceMigration, through KubeVirt's phases:
/// Pending (checks: the VMI runs and can move; limits) → Scheduling (the migration's credentials in a Secret, the
/// target pod made) → Scheduled (bound to a node) → PreparingTarget (the target launcher up) → TargetReady (it listens)
/// → Running (the source sends: <c>PUT /v1/migrate</c>) → Succeeded or Failed. Each step is decided from what is
/// observed (the migration's phase, the pods, what the launchers say), so a restarted operator carries on where the
/// last one was; the target pod has a name of its own, so it is never made twice. The VMI's
/// <c>status.migrationState</c> is written before the source is asked to send (the VMI controller then takes the
/// source's end for a handover, not a shutdown) and marked completed only once the target runs the VM. A failure
/// before the handover leaves the VM at the source and deletes the target pod; deleting the migration cancels it.
/// </summary>
public sealed class MigrationController
{
    public const string Finalizer = "podvisor.io/migration-controller";
    private const string Plural = "virtualmachineinstancemigrations", VmiPlural = "virtualmachineinstances";

    /// <summary>How often a migration under way is looked at (progress into its status).</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private readonly IKubernetes _client;
    private readonly Informer<VirtualMachineInstanceMigration> _migrations;
    private readonly Informer<VirtualMachineInstance> _vmis;
    private readonly Informer<V1Pod> _pods;
    private readonly ILauncherClient _launchers;
    private readonly EventRecorder _events;
    private readonly LauncherPodOptions _podOptions;
    private readonly MigrationLimits _limits;
    private readonly TimeProvider _time;

    public MigrationController(IKubernetes client, Informer<VirtualMachineInstanceMigration> migrations, Informer<VirtualMachineInstance> vmis,
        Informer<V1Pod> pods, ILauncherClient launchers, EventRecorder events, LauncherPodOptions podOptions, MigrationLimits limits,
        Action<string>? log = null, int workers = 2, TimeProvider? time = null)
    {
        _client = client;
        _migrations = migrations;
        _vmis = vmis;
        _pods = pods;
        _launchers = launchers;
        _events = events;
        _podOptions = podOptions;
        _limits = limits;
        _time = time ?? TimeProvider.System;
        Controller = new Controller("migration", ReconcileAsync, workers, log);
        migrations.Changed += Controller.Enqueue;
        // A VMI's or pod's change wakes the migrations of that VMI.
        vmis.ObjectChanged += vmi => EnqueueFor(vmi.Metadata.NamespaceProperty, vmi.Metadata.Name);
        pods.ObjectChanged += pod =>
        {
            if (pod.Metadata.Labels?.TryGetValue(LauncherLabels.Vmi, out string? vmi) == true) EnqueueFor(pod.Metadata.NamespaceProperty, vmi);
        };
    }

    public Controller Controller { get; }

    private void EnqueueFor(string ns, string vmi)
    {
        foreach (var m in _migrations.List().Where(m => m.Metadata.NamespaceProperty == ns && m.Spec.VmiName == vmi)) Controller.Enqueue(ObjectKey.Of(m));
    }

    private static readonly string[] InFlightPhases =
        [MigrationPhases.Scheduling, MigrationPhases.Scheduled, MigrationPhases.PreparingTarget, MigrationPhases.TargetReady, MigrationPhases.Running];

    public async Task<ReconcileResult> ReconcileAsync(string key, CancellationToken cancellationToken)
    {
        if (!_migrations.TryGet(key, out var migration) || migration is null) return ReconcileResult.Done;
        string ns = migration.Metadata.NamespaceProperty;
        string phase = migration.Status?.Phase ?? "";
        _vmis.TryGet(ObjectKey.Of(ns, migration.Spec.VmiName ?? ""), out var vmi);
        var pods = vmi is null ? [] : _pods.ByIndex(ObjectKey.Of(vmi)).Where(p => Label(p, LauncherLabels.CreatedBy) == vmi.Metadata.Uid).ToList();
        var target = pods.FirstOrDefault(p => Label(p, LauncherLabels.MigrationTarget) == migration.Metadata.Uid);
        var source = vmi is null ? null : Ours(vmi, migration) ? pods.FirstOrDefault(p => p.Metadata.Name == vmi.Status!.MigrationState!.SourcePod) : MigrationPolicy.CurrentPod(vmi, pods);

        if (migration.Metadata.DeletionTimestamp is not null)
        {
            if (!MigrationPhases.IsFinal(phase) && vmi is not null)
            {
                // Deleting a migration under way cancels it: the VM stays at the source (unless it was already handed over).
                bool cancelled = phase != MigrationPhases.Running || source is null || await CancelAsync(vmi, source, cancellationToken);
                if (target is not null && (cancelled || phase != MigrationPhases.Running)) await DeletePodAsync(target, cancellationToken);
                if (Ours(vmi, migration) && vmi.Status!.MigrationState!.Completed != true)
                    await WriteVmiStateAsync(vmi, s =>
                    {
                        s.AbortRequested = true;
                        s.AbortStatus = cancelled ? "Succeeded" : "Failed";      // Failed: too late, the VM went to the target
                        if (!cancelled) return;
                        s.Failed = true;
                        s.FailureReason = "cancelled: the migration was deleted";
                        s.EndTimestamp ??= Now;
                    }, cancellationToken);
            }
            await DeleteSecretAsync(migration, cancellationToken);
            if (Finalizers.Has(migration.Metadata, Finalizer)) await Finalizers.RemoveAsync(_client, Plural, migration.Metadata, Finalizer, cancellationToken);
            return ReconcileResult.Done;
        }
        if (MigrationPhases.IsFinal(phase))
        {
            await DeleteSecretAsync(migration, cancellationToken);
            if (phase == MigrationPhases.Failed && target is { Metadata.DeletionTimestamp: null }) await DeletePodAsync(target, cancellationToken);
            if (Finalizers.Has(migration.Metadata, Finalizer)) await Finalizers.RemoveAsync(_client, Plural, migration.Metadata, Finalizer, cancellationToken);
            return ReconcileResult.Done;
        }
        if (!Finalizers.Has(migration.Metadata, Finalizer))
        {
            await Finalizers.AddAsync(_client, Plural, migration.Metadata, Finalizer, cancellationToken);
            return ReconcileResult.Done;
        }
        if (vmi is null) return await FailAsync(migration, null, null, $"VirtualMachineInstance {ns}/{migration.Spec.VmiName} not found", cancellationToken);

        switch (phase)
        {
            case "" or MigrationPhases.Pending:
                return await StartAsync(migration, vmi, source, cancellationToken);
            case MigrationPhases.Scheduling or MigrationPhases.Scheduled or MigrationPhases.PreparingTarget:
                return await PrepareTargetAsync(migration, vmi, source, target, cancellationToken);
            case MigrationPhases.TargetReady:
                return await SendAsync(migration, vmi, source, target, cancellationToken);
            case MigrationPhases.Running:
                return await FollowAsync(migration, vmi, source, target, cancellationToken);
            default:
                return await FailAsync(migration, vmi, target, $"unknown phase {phase}", cancellationToken);
        }
    }

    /// <summary>The pod's containers have exited (the launcher ended).</summary>
    private static bool Ended(V1Pod pod) => pod.Status?.Phase is "Succeeded" or "Failed";

    private static string? Label(V1Pod pod, string name) => pod.Metadata.Labels is { } labels && labels.TryGetValue(name, out string? value) ? value : null;

    /// <summary>Whether the VMI's migrationState is this migration's.</summary>
    private static bool Ours(VirtualMachineInstance vmi, VirtualMachineInstanceMigration migration) =>
        vmi.Status?.MigrationState?.MigrationUid == migration.Metadata.Uid;

    private DateTimeOffset Now => Conditions.TruncateToSeconds(_time.GetUtcNow());

    private async Task<ReconcileResult> StartAsync(VirtualMachineInstanceMigration migration, VirtualMachineInstance vmi, V1Pod? source, CancellationToken cancellationToken)
    {
        if (vmi.Status?.Phase != VmiPhases.Running || source is null || string.IsNullOrEmpty(source.Spec?.NodeName))
            return await FailAsync(migration, null, null, $"VirtualMachineInstance {ObjectKey.Of(vmi)} is {vmi.Status?.Phase ?? "Pending"}, not Running: only a running VM migrates", cancellationToken);
        if (Conditions.IsTrue(vmi.Status.Conditions, ConditionTypes.Paused))
            return await FailAsync(migration, null, null, $"VirtualMachineInstance {ObjectKey.Of(vmi)} is paused: unpause it to migrate", cancellationToken);
        var (claims, _) = await ClaimLookup.ReadAsync(_client, vmi, cancellationToken);
        if (MigrationPolicy.NotMigratable(vmi, claims) is { Count: > 0 } problems)
            return await FailAsync(migration, null, null, $"VirtualMachineInstance {ObjectKey.Of(vmi)} cannot be live-migrated: {string.Join("; ", problems)}", cancellationToken);

        // One migration per VMI at a time (the oldest first), and the limits on how many run at once.
        var others = _migrations.List().Where(m => m.Metadata.Uid != migration.Metadata.Uid && InFlightPhases.Contains(m.Status?.Phase ?? "")).ToList();
        string? wait = null;
        if (others.Any(m => m.Metadata.NamespaceProperty == vmi.Metadata.NamespaceProperty && m.Spec.VmiName == vmi.Metadata.Name))
            wait = $"another migration of {ObjectKey.Of(vmi)} is under way";
        else if (others.Count >= _limits.PerCluster)
            wait = $"{others.Count} migrations are under way in the cluster (at most {_limits.PerCluster} at once)";
        else if (others.Count(m => SourceNodeOf(m) == source.Spec.NodeName) >= _limits.OutboundPerNode)
            wait = $"{_limits.OutboundPerNode} migrations are already leaving node {source.Spec.NodeName} (at most {_limits.OutboundPerNode} at once)";
        if (wait is not null)
        {
            await WriteStatusAsync(migration, s => SetPhase(s, MigrationPhases.Pending, ConditionReasons.MigrationWaiting, wait), cancellationToken);
            return ReconcileResult.After(TimeSpan.FromSeconds(5));
        }

        await EnsureSecretAsync(migration, cancellationToken);
        string targetPod = MigrationTargetPod.NameOf(vmi, migration);
        await WriteVmiStateAsync(vmi, _ => { }, cancellationToken, fresh: new MigrationState
        {
            MigrationUid = migration.Metadata.Uid, SourceNode = source.Spec.NodeName, SourcePod = source.Metadata.Name, TargetPod = targetPod, Mode = "PreCopy",
        });
        await WriteStatusAsync(migration, s => SetPhase(s, MigrationPhases.Scheduling), cancellationToken);
        return ReconcileResult.Done;
    }

    private string? SourceNodeOf(VirtualMachineInstanceMigration migration) =>
        _vmis.TryGet(ObjectKey.Of(migration.Metadata.NamespaceProperty, migration.Spec.VmiName ?? ""), out var vmi) && vmi?.Status?.MigrationState is { } state
            && state.MigrationUid == migration.Metadata.Uid ? state.SourceNode : null;

    private async Task<ReconcileResult> PrepareTargetAsync(VirtualMachineInstanceMigration migration, VirtualMachineInstance vmi, V1Pod? source, V1Pod? target,
        CancellationToken cancellationToken)
    {
        if (!Ours(vmi, migration)) return ReconcileResult.After(PollInterval);       // the VMI's migrationState is on its way through the cache
        var state = vmi.Status!.MigrationState!;
        if (source is null || Ended(source))
            return await FailAsync(migration, vmi, target, $"the source pod {state.SourcePod} went away before the migration started", cancellationToken);
        if (target is null)
        {
            await CreateTargetAsync(migration, vmi, state.SourceNode!, cancellationToken);
            return ReconcileResult.Done;
        }
        if (Ended(target) || target.Metadata.DeletionTimestamp is not null)
            return await FailAsync(migration, vmi, target, $"the target pod {target.Metadata.Name} ended before the VM moved: {PodEnd(target)}", cancellationToken);
        if (string.IsNullOrEmpty(target.Spec?.NodeName))
        {
            string? unschedulable = target.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Status == "False")?.Message;
            await WriteStatusAsync(migration, s => SetPhase(s, MigrationPhases.Scheduling, unschedulable is null ? null : "Unschedulable", unschedulable), cancellationToken);
            return ReconcileResult.Done;
        }
        if (target.Status?.Phase != "Running" || string.IsNullOrEmpty(target.Status.PodIP))
        {
            await WriteVmiStateAsync(vmi, s => s.TargetNode = target.Spec.NodeName, cancellationToken);
            await WriteStatusAsync(migration, s => SetPhase(s, MigrationPhases.Scheduled), cancellationToken);
            return ReconcileResult.Done;
        }
        await WriteStatusAsync(migration, s => SetPhase(s, MigrationPhases.PreparingTarget), cancellationToken);
        LauncherMigrationStatus? listening;
        try
        {
            listening = await _launchers.GetMigrationAsync(target, await CredentialsAsync(vmi, cancellationToken), cancellationToken);
        }
        catch (LauncherUnreachableException)
        {
            return ReconcileResult.After(PollInterval);                               // still starting
        }
        if (listening is not { Role: LauncherMigrationStatus.Target, Phase: LauncherMigrationPhases.Listening, Port: { } port })
            return await FailAsync(migration, vmi, target, $"the target launcher is not listening for the VM (it says {listening?.Phase ?? "nothing"}{(listening?.FailureReason is { } why ? $": {why}" : "")})", cancellationToken);
        await WriteVmiStateAsync(vmi, s =>
        {
            s.TargetNode = target.Spec.NodeName;
            s.TargetNodeAddress = $"{target.Status.PodIP}:{port}";
        }, cancellationToken);
        await WriteStatusAsync(migration, s => SetPhase(s, MigrationPhases.TargetReady), cancellationToken);
        return ReconcileResult.Done;
    }

    private async Task<ReconcileResult> SendAsync(VirtualMachineInstanceMigration migration, VirtualMachineInstance vmi, V1Pod? source, V1Pod? target,
        CancellationToken cancellationToken)
    {
        var state = vmi.Status?.MigrationState;
        if (!Ours(vmi, migration) || state?.TargetNodeAddress is null) return ReconcileResult.After(PollInterval);
        if (target is null || Ended(target))
            return await FailAsync(migration, vmi, target, $"the target pod {state.TargetPod} ended before the VM moved{(target is null ? "" : $": {PodEnd(target)}")}", cancellationToken);
        if (source is null || Ended(source))
            return await FailAsync(migration, vmi, target, $"the source pod {state.SourcePod} went away before the migration started", cancellationToken);
        var tls = await ReadSecretAsync(migration, cancellationToken)
            ?? throw new InvalidOperationException($"the migration's Secret {LauncherLabels.MigrationSecretName(migration.Metadata.Uid)} is gone");
        int separator = state.TargetNodeAddress.LastIndexOf(':');
        var request = new MigrateRequest(migration.Metadata.Uid, state.TargetNodeAddress[..separator], int.Parse(state.TargetNodeAddress[(separator + 1)..],
            System.Globalization.CultureInfo.InvariantCulture), tls);
        // migrationState.startTimestamp before the request: from then on the source's end is a handover to look into, not a shutdown.
        if (state.StartTimestamp is null) await WriteVmiStateAsync(vmi, s => s.StartTimestamp = Now, cancellationToken);
        string? refused = await _launchers.StartMigrationAsync(source, await CredentialsAsync(vmi, cancellationToken), request, cancellationToken);
        if (refused is not null) return await FailAsync(migration, vmi, target, $"the source launcher refused: {refused}", cancellationToken);
        await WriteStatusAsync(migration, s => SetPhase(s, MigrationPhases.Running), cancellationToken);
        await _events.RecordAsync(vmi, EventRecorder.Normal, "Migrating", $"Migrating to node {state.TargetNode} ({migration.Metadata.Name})", cancellationToken);
        return ReconcileResult.After(PollInterval);
    }

    private async Task<ReconcileResult> FollowAsync(VirtualMachineInstanceMigration migration, VirtualMachineInstance vmi, V1Pod? source, V1Pod? target,
        CancellationToken cancellationToken)
    {
        if (!Ours(vmi, migration)) return await FailAsync(migration, null, target, "the VMI's migrationState belongs to another migration", cancellationToken);
        var credentials = await CredentialsAsync(vmi, cancellationToken);
        LauncherMigrationStatus? sent = null;
        if (source is not null && !Ended(source))
        {
            // Unanswered: ended meanwhile (its termination message follows), or a blip: look again.
            if (await AskAsync(source, credentials, cancellationToken) is not (true, var status)) return ReconcileResult.After(PollInterval);
            sent = status;
        }
        else if (source is not null) sent = MigrationPolicy.SourceReport(source);

        bool targetRuns = target is { Status.Phase: "Running" } && VmiStatusPolicy.IsReady(target);
        if (sent is { Phase: LauncherMigrationPhases.Transferring })
        {
            if (target is null || Ended(target))
            {
                // The target died midway: stop the source sending into the void (it would find out, later).
                await _launchers.CancelMigrationAsync(source!, credentials, cancellationToken);
            }
            await WriteStatusAsync(migration, s =>
            {
                s.BytesTransferred = sent.BytesTransferred;
                s.RemainingBytes = sent.RemainingBytes;
                s.Iterations = sent.Iterations;
            }, cancellationToken);
            return ReconcileResult.After(PollInterval);
        }
        if (sent is { Phase: LauncherMigrationPhases.Completed } || sent is { HandedOver: true })
        {
            if (!targetRuns)
            {
                if (target is null || Ended(target))
                    return await FailAsync(migration, vmi, target, $"the VM was handed over but the target pod {vmi.Status!.MigrationState!.TargetPod} " +
                        $"{(target is null ? "is gone" : $"ended: {PodEnd(target)}")}; it runs nowhere", cancellationToken, handedOver: true);
                return ReconcileResult.After(PollInterval);                                 // the target's readiness is on its way
            }
            return await SucceedAsync(migration, vmi, target!, sent, cancellationToken);
        }
        if (sent is { Phase: LauncherMigrationPhases.Failed })
            return await FailAsync(migration, vmi, target, $"the source launcher reports: {sent.FailureReason}", cancellationToken);
        if (source is null || Ended(source))
            return await SourceLostAsync(migration, vmi, source, target, targetRuns, credentials, cancellationToken);
        return ReconcileResult.After(PollInterval);
    }

    /// <summary>
    /// The source ended without a word (killed, its node lost) during the transfer — perhaps after it sent Go, and
    /// only the target knows. Deciding before the target does could delete the VM's one running copy, or leave it
    /// running where the VMI does not say: so the VM has moved if the target runs it; it is lost with the source once
    /// the target has failed or ended (a target whose link broke before Go never runs it); until then, look again
    /// (the target gives up on a silent link by itself).
    /// </summary>
    private async Task<ReconcileResult> SourceLostAsync(VirtualMachineInstanceMigration migration, VirtualMachineInstance vmi, V1Pod? source, V1Pod? target,
        bool targetRuns, LauncherCredentials credentials, CancellationToken cancellationToken)
    {
        LauncherMigrationStatus? received = null;
        bool targetLives = target is not null && !Ended(target);
        if (targetLives)
        {
            if (await AskAsync(target!, credentials, cancellationToken) is not (true, var status)) return ReconcileResult.After(PollInterval);
            received = status;
        }
        bool targetFailed = received is { Phase: LauncherMigrationPhases.Failed };
        if (targetRuns && !targetFailed) return await SucceedAsync(migration, vmi, target!, received, cancellationToken);
        if (targetLives && !targetFailed) return ReconcileResult.After(PollInterval);
        string why = targetFailed ? $"the target reports: {received!.FailureReason}"
            : target is null ? "the target pod is gone" : $"the target pod ended: {PodEnd(target)}";
        return await FailAsync(migration, vmi, target, $"the source pod {vmi.Status!.MigrationState!.SourcePod} ended without handing the VM over" +
            (source is null ? "" : $" ({PodEnd(source)})") + $", and the target never ran it ({why}); the VM ran in neither place after that", cancellationToken);
    }

    /// <summary>The target runs the VM: the VMI moves there. <paramref name="numbers"/> is the source's report, or the target's if the source died.</summary>
    private async Task<ReconcileResult> SucceedAsync(VirtualMachineInstanceMigration migration, VirtualMachineInstance vmi, V1Pod target,
        LauncherMigrationStatus? numbers, CancellationToken cancellationToken)
    {
        await WriteVmiStateAsync(vmi, s =>
        {
            s.Completed = true;
            s.EndTimestamp = Now;
            s.TargetNode = target.Spec.NodeName;
        }, cancellationToken);
        await WriteStatusAsync(migration, s =>
        {
            SetPhase(s, MigrationPhases.Succeeded);
            s.DowntimeMilliseconds = numbers?.DowntimeMilliseconds ?? s.DowntimeMilliseconds;
            s.BytesTransferred = numbers?.BytesTransferred ?? s.BytesTransferred;
            s.RemainingBytes = 0;
            s.Iterations = numbers?.Iterations ?? s.Iterations;
        }, cancellationToken);
        if (numbers?.DowntimeMilliseconds is { } pause) OperatorTelemetry.MigrationDowntime.Record(pause / 1000);
        string measured = numbers?.DowntimeMilliseconds is { } downtime
            ? $": downtime {downtime:0} ms, {numbers.BytesTransferred >> 20} MiB in {numbers.Iterations} round(s)"
            : " (the source ended before it reported the downtime)";
        await _events.RecordAsync(vmi, EventRecorder.Normal, "Migrated", $"Live-migrated to node {target.Spec.NodeName}{measured}", cancellationToken);
        return ReconcileResult.Done;
    }

    /// <summary>A live launcher's side of the migration; Answered is false when it could not be reached.</summary>
    private async Task<(bool Answered, LauncherMigrationStatus? Status)> AskAsync(V1Pod pod, LauncherCredentials credentials, CancellationToken cancellationToken)
    {
        try
        {
            return (true, await _launchers.GetMigrationAsync(pod, credentials, cancellationToken));
        }
        catch (LauncherUnreachableException)
        {
            return (false, null);
        }
    }

    private static string PodEnd(V1Pod pod)
    {
        var terminated = pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == LauncherLabels.ComputeContainer)?.State?.Terminated;
        if (pod.Metadata.DeletionTimestamp is not null) return "deleted";
        if (terminated is not null) return $"exit code {terminated.ExitCode}{(terminated.Message is { Length: > 0 } m ? $" ({m.Trim()})" : "")}";
        return pod.Status?.Reason ?? pod.Status?.Phase ?? "gone";
    }

    /// <summary>Cancels at the source; true if the VM stays there.</summary>
    private async Task<bool> CancelAsync(VirtualMachineInstance vmi, V1Pod source, CancellationToken cancellationToken)
    {
        var credentials = await CredentialsAsync(vmi, cancellationToken);
        try
        {
            if (await _launchers.CancelMigrationAsync(source, credentials, cancellationToken)) return true;
            var status = await _launchers.GetMigrationAsync(source, credentials, cancellationToken);
            return status is null || status.HandedOver != true;
        }
        catch (LauncherUnreachableException)
        {
            return MigrationPolicy.SourceReport(source)?.HandedOver != true;
        }
    }

    private async Task<ReconcileResult> FailAsync(VirtualMachineInstanceMigration migration, VirtualMachineInstance? vmi, V1Pod? target, string reason,
        CancellationToken cancellationToken, bool handedOver = false)
    {
        if (target is not null && !handedOver) await DeletePodAsync(target, cancellationToken);
        if (vmi is not null && Ours(vmi, migration))
            await WriteVmiStateAsync(vmi, s =>
            {
                s.Failed = true;
                s.FailureReason = reason;
                s.EndTimestamp ??= Now;
            }, cancellationToken);
        await WriteStatusAsync(migration, s => SetPhase(s, MigrationPhases.Failed, ConditionReasons.MigrationFailed, reason), cancellationToken);
        if (vmi is not null) await _events.RecordAsync(vmi, EventRecorder.Warning, "MigrationFailed", $"{migration.Metadata.Name}: {reason}", cancellationToken);
        return ReconcileResult.Done;
    }

    private void SetPhase(VirtualMachineInstanceMigrationStatus status, string phase, string? reason = null, string? message = null)
    {
        if (status.Phase != phase)
        {
            status.Phase = phase;
            status.PhaseTransitionTimestamps = [.. status.PhaseTransitionTimestamps ?? [], new PhaseTransition { Phase = phase, PhaseTransitionTimestamp = Now }];
        }
        var conditions = status.Conditions ??= [];
        if (reason is null) Conditions.Remove(conditions, ConditionTypes.Ready);
        else Conditions.Set(conditions, ConditionTypes.Ready, phase == MigrationPhases.Succeeded ? Conditions.True : Conditions.False, reason, message, Now);
    }

    private async Task WriteStatusAsync(VirtualMachineInstanceMigration migration, Action<VirtualMachineInstanceMigrationStatus> change, CancellationToken cancellationToken)
    {
        var status = migration.Status is null ? new VirtualMachineInstanceMigrationStatus()
            : ApiCopies.DeepCopy(migration.Status, ApiJsonContext.Default.VirtualMachineInstanceMigrationStatus);
        var ended = migration.Status?.PhaseTransitionTimestamps?.LastOrDefault();
        change(status);
        if (Same(migration.Status, status)) return;
        var updated = new VirtualMachineInstanceMigration { Metadata = migration.Metadata, Spec = migration.Spec, Status = status };
        // Replace with the cached resourceVersion: a newer version makes this fail (409) and the controller looks again.
        await _client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync(JsonSerializer.SerializeToElement(updated, ApiJsonContext.Default.VirtualMachineInstanceMigration),
            ApiGroup.Group, ApiGroup.Version, migration.Metadata.NamespaceProperty, Plural, migration.Metadata.Name, cancellationToken: cancellationToken);
        migration.Status = status;                                   // later steps of this reconcile build on it
        if (ended is not null && status.Phase != ended.Phase)
        {
            // The phase just left, as a span of the migration's trace (the launchers' spans are in it too).
            using var span = MigrationTrace.Start(OperatorTelemetry.Tracing, migration.Metadata.Uid, $"migration {ended.Phase}", startTime: ended.PhaseTransitionTimestamp);
            span?.SetTag("podvisor.migration", ObjectKey.Of(migration));
            span?.SetTag("podvisor.migration.next_phase", status.Phase);
            if (status.Phase == MigrationPhases.Failed) span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, Conditions.Find(status.Conditions, ConditionTypes.Ready)?.Message);
        }
    }

    private static bool Same(VirtualMachineInstanceMigrationStatus? a, VirtualMachineInstanceMigrationStatus b) =>
        JsonSerializer.Serialize(a ?? new(), ApiJsonContext.Default.VirtualMachineInstanceMigrationStatus) == JsonSerializer.Serialize(b, ApiJsonContext.Default.VirtualMachineInstanceMigrationStatus);

    /// <summary>Changes the VMI's migrationState (or replaces it with <paramref name="fresh"/>), with the cached resourceVersion.</summary>
    private async Task WriteVmiStateAsync(VirtualMachineInstance vmi, Action<MigrationState> change, CancellationToken cancellationToken, MigrationState? fresh = null)
    {
        var status = vmi.Status is null ? new VirtualMachineInstanceStatus() : ApiCopies.DeepCopy(vmi.Status, ApiJsonContext.Default.VirtualMachineInstanceStatus);
        status.MigrationState = fresh ?? status.MigrationState ?? new MigrationState();
        change(status.MigrationState);
        if (VmiStatusPolicy.Same(vmi.Status, status)) return;
        var updated = new VirtualMachineInstance { Metadata = vmi.Metadata, Spec = vmi.Spec, Status = status };
        var written = await _client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync(JsonSerializer.SerializeToElement(updated, ApiJsonContext.Default.VirtualMachineInstance),
            ApiGroup.Group, ApiGroup.Version, vmi.Metadata.NamespaceProperty, VmiPlural, vmi.Metadata.Name, cancellationToken: cancellationToken);
        vmi.Status = status;
        if (written is JsonElement element && element.TryGetProperty("metadata", out var metadata) && metadata.TryGetProperty("resourceVersion", out var version))
            vmi.Metadata.ResourceVersion = version.GetString();       // a second write in this reconcile must not conflict with the first
    }

    private async Task CreateTargetAsync(VirtualMachineInstanceMigration migration, VirtualMachineInstance vmi, string sourceNode, CancellationToken cancellationToken)
    {
        var defaulted = ApiCopies.DeepCopy(vmi, ApiJsonContext.Default.VirtualMachineInstance);
        ApiDefaults.Apply(defaulted);
        var (claims, missing) = await ClaimLookup.ReadAsync(_client, defaulted, cancellationToken);
        if (missing is not null) throw new InvalidOperationException($"PersistentVolumeClaim {vmi.Metadata.NamespaceProperty}/{missing} not found");
        var pod = MigrationTargetPod.Build(defaulted, migration, sourceNode, _podOptions, ClaimLookup.BlockModes(claims));
        try
        {
            await _client.CoreV1.CreateNamespacedPodAsync(pod, vmi.Metadata.NamespaceProperty, cancellationToken: cancellationToken);
            await _events.RecordAsync(migration, EventRecorder.Normal, "SuccessfulCreate", $"Created migration target pod {pod.Metadata.Name}", cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Made already (by this operator before a restart, or an earlier pass whose pod the cache has not shown yet).
        }
    }

    private async Task EnsureSecretAsync(VirtualMachineInstanceMigration migration, CancellationToken cancellationToken)
    {
        var material = MigrationCertificates.Create(ObjectKey.Of(migration), _time.GetUtcNow());
        var secret = new V1Secret
        {
            ApiVersion = "v1", Kind = "Secret", Type = "Opaque",
            Metadata = new V1ObjectMeta
            {
                Name = LauncherLabels.MigrationSecretName(migration.Metadata.Uid), NamespaceProperty = migration.Metadata.NamespaceProperty,
                OwnerReferences = [new V1OwnerReference
                {
                    ApiVersion = ApiGroup.ApiVersion, Kind = VirtualMachineInstanceMigration.KindName, Name = migration.Metadata.Name, Uid = migration.Metadata.Uid,
                    Controller = true, BlockOwnerDeletion = true,
                }],
            },
            Data = material.ToSecretData(),
        };
        // Made by an earlier pass? Then those credentials stand (a target pod may already hold them).
        await OwnedObjects.CreateSecretUnlessPresentAsync(_client, secret, cancellationToken);
    }

    private async Task<TlsMaterial?> ReadSecretAsync(VirtualMachineInstanceMigration migration, CancellationToken cancellationToken)
    {
        try
        {
            var secret = await _client.CoreV1.ReadNamespacedSecretAsync(LauncherLabels.MigrationSecretName(migration.Metadata.Uid), migration.Metadata.NamespaceProperty,
                cancellationToken: cancellationToken);
            return TlsMaterial.FromSecretData(secret.Data);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private Task DeleteSecretAsync(VirtualMachineInstanceMigration migration, CancellationToken cancellationToken) =>
        OwnedObjects.DeleteSecretIfPresentAsync(_client, migration.Metadata.NamespaceProperty, LauncherLabels.MigrationSecretName(migration.Metadata.Uid), cancellationToken);

    private Task<LauncherCredentials> CredentialsAsync(VirtualMachineInstance vmi, CancellationToken cancellationToken) =>
        LauncherCredentials.ReadAsync(_client, vmi, cancellationToken);

    private async Task DeletePodAsync(V1Pod pod, CancellationToken cancellationToken)
    {
        if (pod.Metadata.DeletionTimestamp is null) await OwnedObjects.DeletePodAsync(_client, pod, cancellationToken);
    }
}
