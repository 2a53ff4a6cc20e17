using k8s.Models;
using Podvisor.Api;

namespace Podvisor.Operator.Controllers;

/// <summary>
/// The pure decisions of moving VMs off a node being drained, after KubeVirt's eviction strategies: which VMIs a
/// PodDisruptionBudget shields from eviction, which get migrated, and how long a failed evacuation waits to try again.
/// </summary>
public static class EvacuationPolicy
{
    /// <summary>Longest wait between evacuation attempts of one VMI.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);

    /// <summary>Wait after the first failed attempt; it doubles with each further failure.</summary>
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(10);

    /// <summary>Failed evacuation migrations kept per VMI (older ones are deleted: a blocked drain retries for as long as it lasts).</summary>
    public const int FailedKept = 5;

    /// <summary>
    /// A node is being drained when it is cordoned (<c>kubectl drain</c> cordons before it evicts) or tainted with
    /// <see cref="Evacuation.DrainTaint"/> (NoSchedule or NoExecute).
    /// </summary>
    public static bool IsDraining(V1Node node) =>
        node.Spec?.Unschedulable == true
        || node.Spec?.Taints?.Any(t => t.Key == Evacuation.DrainTaint && t.Effect is "NoSchedule" or "NoExecute") == true;

    /// <summary>The VMI's strategy (unset is None).</summary>
    public static string StrategyOf(VirtualMachineInstance vmi) => vmi.Spec.EvictionStrategy ?? EvictionStrategies.None;

    /// <summary>Whether a drain must not evict the VMI's launcher pods: LiveMigrate (it migrates instead, or blocks the
    /// drain when it cannot), External (someone else moves it), LiveMigrateIfPossible when it can move. With None — or
    /// LiveMigrateIfPossible for a VMI that cannot move — an eviction stops the VM, as KubeVirt does.</summary>
    public static bool Shielded(string strategy, bool migratable) => strategy switch
    {
        EvictionStrategies.LiveMigrate or EvictionStrategies.External => true,
        EvictionStrategies.LiveMigrateIfPossible => migratable,
        _ => false,
    };

    /// <summary>Whether the operator migrates the VMI off a draining node (External leaves that to its owner).</summary>
    public static bool Migrates(string strategy) => strategy is EvictionStrategies.LiveMigrate or EvictionStrategies.LiveMigrateIfPossible;

    /// <summary>Pods the budget keeps: both while a migration has (or is about to have) a target pod, so a drain of the
    /// target's node cannot take it mid-migration; otherwise the one that runs the VM.</summary>
    public static int MinAvailable(bool migrationInFlight) => migrationInFlight ? 2 : 1;

    /// <summary>How long after the last failed attempt the next may start, given how many attempts failed.</summary>
    public static TimeSpan Backoff(int failures)
    {
        if (failures <= 0) return TimeSpan.Zero;
        double seconds = FirstBackoff.TotalSeconds * Math.Pow(2, Math.Min(failures - 1, 16));
        return TimeSpan.FromSeconds(Math.Min(seconds, MaxBackoff.TotalSeconds));
    }
}
