using Podvisor.Api;

namespace Podvisor.Operator.Controllers;

/// <summary>
/// KubeVirt's run-strategy semantics as a pure function of what the controller observes — the VM and its
/// instance (if any) — so every transition is testable without a cluster:
/// <list type="bullet">
/// <item>Always: an instance always exists; one that ended (either way) is replaced.</item>
/// <item>RerunOnFailure: an instance that failed is replaced; one that succeeded (the guest shut down) is not.</item>
/// <item>Once: the VM runs until its instance ends, either way, and is not restarted.</item>
/// <item>Manual: instances come and go only by start/stop requests.</item>
/// <item>Halted: no instance.</item>
/// </list>
/// Start, stop and restart are <c>status.stateChangeRequests</c> (KubeVirt's mechanism): Stop (optionally for one
/// instance uid) deletes the instance and is done once it is gone; Start creates one and is done once it
/// exists; restart is [Stop(uid), Start]. Requests apply to every strategy; a Start under Halted or a Stop
/// under Always is turned by the API layer (the CLI) into a runStrategy change instead, as virtctl does.
/// </summary>
public static class VirtualMachinePolicy
{
    public static VmDecision Decide(VirtualMachine vm, VirtualMachineInstance? vmi)
    {
        bool vmDeleting = vm.Metadata.DeletionTimestamp is not null;
        bool exists = vmi is not null;
        bool instanceDeleting = vmi?.Metadata.DeletionTimestamp is not null;
        string? phase = vmi?.Status?.Phase;
        bool final = phase is VmiPhases.Succeeded or VmiPhases.Failed;
        var requests = vm.Status?.StateChangeRequests ?? [];
        string strategy = vm.Spec.RunStrategy ?? (vm.Spec.Running == true ? RunStrategies.Always : RunStrategies.Halted);

        VmDecision Result(VmAction action, int done, string why) =>
            new(action, done, PrintableStatus(vm, vmi, action, vmDeleting), exists && !instanceDeleting, IsReady(vmi), why);

        if (vmDeleting)
            return exists && !instanceDeleting ? Result(VmAction.DeleteInstance, 0, "the VM is being deleted") : Result(VmAction.None, 0, "the VM is being deleted");

        // Pending requests first, in order; each is finished only when its effect is observed.
        if (requests.Count > 0)
        {
            var request = requests[0];
            if (request.Action == StateChangeRequest.Stop)
            {
                bool targetsThis = exists && (request.Uid is null || request.Uid == vmi!.Metadata.Uid);
                if (targetsThis && !instanceDeleting) return Result(VmAction.DeleteInstance, 0, "stop requested");
                if (targetsThis) return Result(VmAction.None, 0, "waiting for the instance to stop");
                return Result(VmAction.None, 1, "stop request done");  // the instance it meant is gone
            }
            if (request.Action == StateChangeRequest.Start)
            {
                if (!exists) return Result(VmAction.CreateInstance, 0, "start requested");
                if (instanceDeleting) return Result(VmAction.None, 0, "waiting for the old instance to go before starting");
                return Result(VmAction.None, 1, "start request done");
            }
            return Result(VmAction.None, 1, $"unknown request {request.Action} dropped");
        }

        switch (strategy)
        {
            case RunStrategies.Halted:
                return exists && !instanceDeleting ? Result(VmAction.DeleteInstance, 0, "runStrategy Halted") : Result(VmAction.None, 0, "halted");
            case RunStrategies.Always:
                if (!exists) return Result(VmAction.CreateInstance, 0, "runStrategy Always: no instance");
                if (final && !instanceDeleting) return Result(VmAction.DeleteInstance, 0, $"runStrategy Always: instance {phase}, replacing it");
                return Result(VmAction.None, 0, "running");
            case RunStrategies.RerunOnFailure:
                if (!exists) return Result(VmAction.CreateInstance, 0, "runStrategy RerunOnFailure: no instance");
                if (phase == VmiPhases.Failed && !instanceDeleting) return Result(VmAction.DeleteInstance, 0, "runStrategy RerunOnFailure: instance failed, replacing it");
                return Result(VmAction.None, 0, phase == VmiPhases.Succeeded ? "finished successfully: not restarted" : "running");
            case RunStrategies.Once:
                if (!exists) return Result(VmAction.CreateInstance, 0, "runStrategy Once: starting");
                return Result(VmAction.None, 0, final ? "ran once" : "running");
            case RunStrategies.Manual:
                return Result(VmAction.None, 0, "runStrategy Manual: waiting for start/stop requests");
            default:
                return Result(VmAction.None, 0, $"unknown runStrategy {strategy}");
        }
    }

    private static bool IsReady(VirtualMachineInstance? vmi) =>
        vmi?.Status?.Phase == VmiPhases.Running && vmi.Metadata.DeletionTimestamp is null
        && ConditionLookup.IsTrue(vmi.Status.Conditions, ConditionTypes.Ready);

    /// <summary>KubeVirt's printableStatus, from the VM, its instance and what the controller is about to do.</summary>
    private static string PrintableStatus(VirtualMachine vm, VirtualMachineInstance? vmi, VmAction action, bool vmDeleting)
    {
        if (vmDeleting) return PrintableStatuses.Terminating;
        if (vmi is null) return action == VmAction.CreateInstance ? PrintableStatuses.Starting : PrintableStatuses.Stopped;
        if (vmi.Metadata.DeletionTimestamp is not null || action == VmAction.DeleteInstance)
            return vmi.Status?.Phase is VmiPhases.Succeeded or VmiPhases.Failed ? PrintableStatuses.Stopped : PrintableStatuses.Stopping;
        var conditions = vmi.Status?.Conditions;
        switch (vmi.Status?.Phase)
        {
            case VmiPhases.Running:
                if (ConditionLookup.IsTrue(conditions, ConditionTypes.Paused)) return PrintableStatuses.Paused;
                if (vmi.Status.MigrationState is { Completed: not true, Failed: not true, StartTimestamp: not null }) return PrintableStatuses.Migrating;
                return PrintableStatuses.Running;
            case VmiPhases.Succeeded or VmiPhases.Failed:
                return PrintableStatuses.Stopped;
            case VmiPhases.Unknown:
                return PrintableStatuses.Unknown;
            default:                                    // Pending, Scheduling, Scheduled, or no phase yet
                return StartingStatus(conditions);
        }
    }

    /// <summary>Starting, or the error that holds the start up (what the launcher pod or the operator reported on the VMI).</summary>
    private static string StartingStatus(List<Condition>? conditions)
    {
        bool Is(string type, string reason) => conditions?.Any(c => c.Type == type && c.Status == "False" && c.Reason == reason) == true;
        if (Is(ConditionTypes.PodScheduled, "Unschedulable")) return PrintableStatuses.ErrorUnschedulable;
        if (Is(ConditionTypes.Synchronized, ConditionReasons.PvcNotFound)) return PrintableStatuses.ErrorPvcNotFound;
        foreach (string waiting in new[] { PrintableStatuses.ErrImagePull, PrintableStatuses.ImagePullBackOff, PrintableStatuses.CrashLoopBackOff })
            if (Is(ConditionTypes.Ready, waiting)) return waiting;
        return PrintableStatuses.Starting;
    }
}
