using System.Collections.Concurrent;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Api.Control;
using Podvisor.Operator.Launcher;

namespace Podvisor.Operator.Tests;

/// <summary>
/// Launchers' control APIs as the migration controller sees them, for pods that <see cref="Testing.FakeNodes"/> only
/// pretends to run: a target pod listens; a source sends once asked and reports Transferring until the test says
/// how it ends (<see cref="Complete"/>, <see cref="Fail"/>); a cancel before that ends it as the launcher would.
/// </summary>
internal sealed class FakeLaunchers : ILauncherClient
{
    private readonly ConcurrentDictionary<string, LauncherMigrationStatus> _sources = new();
    private readonly ConcurrentDictionary<string, LauncherMigrationStatus> _targets = new();
    private readonly Lock _lock = new();

    /// <summary>Every call, as "verb pod" (pod by name).</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>Migrate requests by source pod name.</summary>
    public ConcurrentDictionary<string, MigrateRequest> Requests { get; } = new();

    public Task<LauncherMigrationStatus?> GetMigrationAsync(V1Pod pod, LauncherCredentials credentials, CancellationToken cancellationToken)
    {
        Check(pod, credentials);
        if (pod.Metadata.Labels.TryGetValue(LauncherLabels.MigrationTarget, out string? uid))
            return Task.FromResult<LauncherMigrationStatus?>(_targets.TryGetValue(pod.Metadata.Name, out var target) ? target
                : new(uid, LauncherMigrationStatus.Target, LauncherMigrationPhases.Listening, Port: LauncherLabels.MigrationPort));
        return Task.FromResult(_sources.TryGetValue(pod.Metadata.Name, out var status) ? status : null);
    }

    public Task<string?> StartMigrationAsync(V1Pod pod, LauncherCredentials credentials, MigrateRequest request, CancellationToken cancellationToken)
    {
        Check(pod, credentials);
        Calls.Enqueue($"migrate {pod.Metadata.Name}");
        Requests[pod.Metadata.Name] = request;
        lock (_lock)
        {
            if (_sources.TryGetValue(pod.Metadata.Name, out var running) && running.MigrationUid == request.MigrationUid) return Task.FromResult<string?>(null);
            _sources[pod.Metadata.Name] = new(request.MigrationUid, LauncherMigrationStatus.Source, LauncherMigrationPhases.Transferring,
                BytesTransferred: 1 << 20, RemainingBytes: 3 << 20, Iterations: 1);
        }
        return Task.FromResult<string?>(null);
    }

    public Task<bool> CancelMigrationAsync(V1Pod pod, LauncherCredentials credentials, CancellationToken cancellationToken)
    {
        Check(pod, credentials);
        Calls.Enqueue($"cancel {pod.Metadata.Name}");
        lock (_lock)
        {
            if (!_sources.TryGetValue(pod.Metadata.Name, out var status) || status.Phase != LauncherMigrationPhases.Transferring) return Task.FromResult(false);
            _sources[pod.Metadata.Name] = status with { Phase = LauncherMigrationPhases.Failed, FailureReason = "cancelled" };
        }
        return Task.FromResult(true);
    }

    /// <summary>Pods whose VM is paused.</summary>
    public ConcurrentDictionary<string, bool> Paused { get; } = new();

    /// <summary>When set, pause and unpause are refused with this reason (as a launcher refuses during a migration).</summary>
    public string? PauseRefusal { get; set; }

    public Task<string?> SetPausedAsync(V1Pod pod, LauncherCredentials credentials, bool paused, CancellationToken cancellationToken)
    {
        Check(pod, credentials);
        Calls.Enqueue($"{(paused ? "pause" : "unpause")} {pod.Metadata.Name}");
        if (PauseRefusal is { } refusal) return Task.FromResult<string?>(refusal);
        if (paused) Paused[pod.Metadata.Name] = true;
        else Paused.TryRemove(pod.Metadata.Name, out _);
        return Task.FromResult<string?>(null);
    }

    /// <summary>The source's VM arrived at the target: what the source then reports.</summary>
    public LauncherMigrationStatus Complete(string sourcePod)
    {
        lock (_lock)
            return _sources[sourcePod] = _sources[sourcePod] with
            {
                Phase = LauncherMigrationPhases.Completed, HandedOver = true, DowntimeMilliseconds = 42, TotalMilliseconds = 900, BytesTransferred = 300 << 20, Iterations = 3,
            };
    }

    /// <summary>The target received the VM and runs it (what it then reports).</summary>
    public void TargetRuns(V1Pod target) => _targets[target.Metadata.Name] = new(target.Metadata.Labels[LauncherLabels.MigrationTarget],
        LauncherMigrationStatus.Target, LauncherMigrationPhases.Completed, BytesTransferred: 200 << 20);

    /// <summary>The target gave up (its link broke before the handover) and never ran the VM.</summary>
    public void TargetFails(V1Pod target, string reason) => _targets[target.Metadata.Name] = new(target.Metadata.Labels[LauncherLabels.MigrationTarget],
        LauncherMigrationStatus.Target, LauncherMigrationPhases.Failed, FailureReason: reason);

    public void Fail(string sourcePod, string reason)
    {
        lock (_lock) _sources[sourcePod] = _sources[sourcePod] with { Phase = LauncherMigrationPhases.Failed, FailureReason = reason };
    }

    private static void Check(V1Pod pod, LauncherCredentials credentials)
    {
        if (string.IsNullOrEmpty(pod.Status?.PodIP)) throw new LauncherUnreachableException($"{pod.Metadata.Name} has no IP");
        if (credentials.Token.Length != 64) throw new InvalidOperationException($"the operator sent a token of {credentials.Token.Length} characters, not the VMI's");
        if (!credentials.CaCertificatePem.StartsWith("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            throw new InvalidOperationException("the operator has no CA to check the launcher's certificate against");
    }
}
