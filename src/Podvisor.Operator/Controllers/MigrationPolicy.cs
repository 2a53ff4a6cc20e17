using k8s.Models;
using Podvisor.Api;

namespace Podvisor.Operator.Controllers;

/// <summary>The pure decisions of live migration: whether a VMI can move, and which of its pods is the VM's.</summary>
public static class MigrationPolicy
{
    /// <summary>
    /// Why the VMI cannot be live-migrated (empty: it can). Its disks must be where both nodes see them: a claim the
    /// nodes share (ReadWriteMany, or ReadOnlyMany used read-only), or a cloud-init seed (written again, the same, on
    /// the target). An emptyDisk, containerDisk or hostDisk keeps its writes on the source node, and Podvisor does
    /// not copy disks (no block migration), so such a VMI is refused rather than moved without them.
    /// </summary>
    /// <param name="claims">The VMI's claims by name (missing: not found).</param>
    public static IReadOnlyList<string> NotMigratable(VirtualMachineInstance vmi, IReadOnlyDictionary<string, V1PersistentVolumeClaim> claims)
    {
        var problems = new List<string>();
        foreach (var volume in vmi.Spec.Volumes ?? [])
        {
            string at = $"volume {volume.Name}";
            if (volume.PersistentVolumeClaim is { } pvc)
            {
                if (!claims.TryGetValue(pvc.ClaimName ?? "", out var claim)) problems.Add($"{at}: claim {pvc.ClaimName} not found");
                else
                {
                    var modes = claim.Spec?.AccessModes ?? [];
                    bool shared = modes.Contains("ReadWriteMany") || (modes.Contains("ReadOnlyMany") && pvc.ReadOnly == true);
                    if (!shared)
                        problems.Add($"{at}: claim {pvc.ClaimName} is {string.Join(", ", modes.DefaultIfEmpty("without access modes"))}; " +
                            "live migration needs storage both nodes mount at once (ReadWriteMany)");
                }
            }
            else if (volume.EmptyDisk is not null) problems.Add($"{at}: an emptyDisk lives on the source node and Podvisor does not copy disks");
            else if (volume.ContainerDisk is not null) problems.Add($"{at}: a containerDisk's writes live on the source node and Podvisor does not copy disks");
            else if (volume.HostDisk is not null) problems.Add($"{at}: a hostDisk is a file on the source node");
        }
        return problems;
    }

    /// <summary>
    /// The pod that runs (or ran) the VM among the VMI's launcher pods: after a completed migration its target, during
    /// one its source, else the pod that is no migration's target.
    /// </summary>
    public static V1Pod? CurrentPod(VirtualMachineInstance vmi, IReadOnlyList<V1Pod> pods)
    {
        var state = vmi.Status?.MigrationState;
        string? named = state switch
        {
            { Completed: true, TargetPod: { } target } => target,
            { SourcePod: { } source } => source,
            _ => null,
        };
        if (named is not null) return pods.FirstOrDefault(p => p.Metadata.Name == named);
        var candidates = pods.Where(p => p.Metadata.Labels?.ContainsKey(LauncherLabels.MigrationTarget) != true).ToList();
        return candidates.FirstOrDefault(p => p.Metadata.DeletionTimestamp is null) ?? candidates.FirstOrDefault();
    }

    /// <summary>Whether the pod's launcher ended by handing its VM over to a migration target (its termination message says so).</summary>
    public static bool HandedOver(V1Pod pod) => SourceReport(pod)?.HandedOver == true;

    /// <summary>What a source launcher that ended said about its migration (its termination message), if anything.</summary>
    public static Api.Control.LauncherMigrationStatus? SourceReport(V1Pod pod)
    {
        string? message = pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == LauncherLabels.ComputeContainer)?.State?.Terminated?.Message;
        if (string.IsNullOrWhiteSpace(message) || !message.TrimStart().StartsWith('{')) return null;
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize(message, Api.Control.ControlApiJson.Default.LauncherMigrationStatus);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>A migration is between its start and its end: the source pod ending is not the VM ending.</summary>
    public static bool InFlight(VirtualMachineInstance vmi) =>
        vmi.Status?.MigrationState is { StartTimestamp: not null, Completed: not true, Failed: not true };
}
