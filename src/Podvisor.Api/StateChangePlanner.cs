namespace Podvisor.Api;

/// <summary>
/// Start, stop and restart of a VirtualMachine, decided from the VM and its instance as KubeVirt's start/stop/restart
/// subresources decide (virtctl's verbs): where the run strategy would undo a request — Always restarts what a Stop
/// request stopped, Once and RerunOnFailure run again what it deleted — the run strategy changes instead; elsewhere a
/// request goes in <c>status.stateChangeRequests</c> for the operator (<c>VirtualMachinePolicy</c>). A VM with a request
/// still pending takes no other (the second could undo the first).
/// </summary>
public static class StateChangePlanner
{
    public static StateChangePlan Start(VirtualMachine vm, VirtualMachineInstance? vmi)
    {
        if (Blocked(vm) is { } blocked) return blocked;
        string name = vm.Metadata.Name;
        if (Running(vmi)) return new StateChangePlan.Refused($"VM {name} is already running");
        switch (Strategy(vm))
        {
            case RunStrategies.Halted:
                return new StateChangePlan.SetRunStrategy(RunStrategies.Always);
            case RunStrategies.Always:
                return new StateChangePlan.Refused($"VM {name} has runStrategy Always: the operator starts it by itself " +
                    $"({(vmi is null ? "its instance is being created" : $"its instance is {vmi.Status?.Phase ?? VmiPhases.Pending}")})");
            default:
                // Manual, Once, RerunOnFailure: an instance that ended stays until something deletes it; a Start alone
                // would find it there and be done.
                return new StateChangePlan.AddRequests(vmi is null
                    ? [new StateChangeRequest { Action = StateChangeRequest.Start }]
                    : [new StateChangeRequest { Action = StateChangeRequest.Stop, Uid = vmi.Metadata.Uid }, new StateChangeRequest { Action = StateChangeRequest.Start }]);
        }
    }

    public static StateChangePlan Stop(VirtualMachine vm, VirtualMachineInstance? vmi)
    {
        if (Blocked(vm) is { } blocked) return blocked;
        string name = vm.Metadata.Name;
        switch (Strategy(vm))
        {
            case RunStrategies.Halted:
                return new StateChangePlan.Refused(Running(vmi) ? $"VM {name} is already stopping (runStrategy Halted)" : $"VM {name} is not running");
            case RunStrategies.Manual:
                return Running(vmi)
                    ? new StateChangePlan.AddRequests([new StateChangeRequest { Action = StateChangeRequest.Stop, Uid = vmi!.Metadata.Uid }])
                    : new StateChangePlan.Refused($"VM {name} is not running");
            default:
                // Always, RerunOnFailure, Once would start it again: it stays down only as Halted.
                return new StateChangePlan.SetRunStrategy(RunStrategies.Halted);
        }
    }

    public static StateChangePlan Restart(VirtualMachine vm, VirtualMachineInstance? vmi)
    {
        if (Blocked(vm) is { } blocked) return blocked;
        string name = vm.Metadata.Name;
        if (Strategy(vm) == RunStrategies.Halted)
            return new StateChangePlan.Refused(Running(vmi) ? $"VM {name} is stopping (runStrategy Halted)" : $"VM {name} is not running: start it instead");
        if (!Running(vmi)) return new StateChangePlan.Refused($"VM {name} is not running: start it instead");
        return new StateChangePlan.AddRequests(
            [new StateChangeRequest { Action = StateChangeRequest.Stop, Uid = vmi!.Metadata.Uid }, new StateChangeRequest { Action = StateChangeRequest.Start }]);
    }

    /// <summary>The run strategy in force: <c>spec.runStrategy</c>, else from <c>spec.running</c>, else Halted.</summary>
    public static string Strategy(VirtualMachine vm) =>
        vm.Spec.RunStrategy ?? (vm.Spec.Running == true ? RunStrategies.Always : RunStrategies.Halted);

    /// <summary>An instance that exists, is not being deleted and has not ended.</summary>
    private static bool Running(VirtualMachineInstance? vmi) =>
        vmi is not null && vmi.Metadata.DeletionTimestamp is null && vmi.Status?.Phase is not (VmiPhases.Succeeded or VmiPhases.Failed);

    private static StateChangePlan.Refused? Blocked(VirtualMachine vm)
    {
        if (vm.Metadata.DeletionTimestamp is not null) return new($"VM {vm.Metadata.Name} is being deleted");
        if (vm.Status?.StateChangeRequests is { Count: > 0 } pending)
            return new($"VM {vm.Metadata.Name} still has a {string.Join(", ", pending.Select(r => r.Action))} request pending: " +
                "try again when the operator has carried it out");
        return null;
    }
}
