using k8s.Models;
using Podvisor.Api;
using Podvisor.Operator.Controllers;

namespace Podvisor.Operator.Tests;

public sealed class VirtualMachinePolicyTests
{
    private static VirtualMachine Vm(string strategy, bool deleting = false, params StateChangeRequest[] requests) => new()
    {
        Metadata = new V1ObjectMeta { Name = "vm", NamespaceProperty = "ns", DeletionTimestamp = deleting ? DateTime.UtcNow : null },
        Spec = new VirtualMachineSpec { RunStrategy = strategy },
        Status = requests.Length == 0 ? null : new VirtualMachineStatus { StateChangeRequests = [.. requests] },
    };

    private static VirtualMachineInstance Vmi(string? phase, bool deleting = false, string uid = "uid-1", bool ready = false, params Condition[] conditions) => new()
    {
        Metadata = new V1ObjectMeta { Name = "vm", NamespaceProperty = "ns", Uid = uid, DeletionTimestamp = deleting ? DateTime.UtcNow : null },
        Status = new VirtualMachineInstanceStatus
        {
            Phase = phase,
            Conditions = [.. conditions, .. ready ? new[] { new Condition { Type = "Ready", Status = "True" } } : []],
        },
    };

    private static void Expect(VmDecision decision, VmAction action, string printable, int done = 0)
    {
        Assert.True(decision.Action == action, $"action {decision.Action}, expected {action} ({decision.Why})");
        Assert.True(decision.PrintableStatus == printable, $"printableStatus {decision.PrintableStatus}, expected {printable} ({decision.Why})");
        Assert.Equal(done, decision.RequestsDone);
    }

    public static TheoryData<string, string?, VmAction, string> Strategies => new()
    {
        // strategy, instance phase (null: no instance), action, printableStatus
        { RunStrategies.Always, null, VmAction.CreateInstance, PrintableStatuses.Starting },
        { RunStrategies.Always, VmiPhases.Scheduling, VmAction.None, PrintableStatuses.Starting },
        { RunStrategies.Always, VmiPhases.Running, VmAction.None, PrintableStatuses.Running },
        { RunStrategies.Always, VmiPhases.Succeeded, VmAction.DeleteInstance, PrintableStatuses.Stopped },
        { RunStrategies.Always, VmiPhases.Failed, VmAction.DeleteInstance, PrintableStatuses.Stopped },
        { RunStrategies.RerunOnFailure, null, VmAction.CreateInstance, PrintableStatuses.Starting },
        { RunStrategies.RerunOnFailure, VmiPhases.Failed, VmAction.DeleteInstance, PrintableStatuses.Stopped },
        { RunStrategies.RerunOnFailure, VmiPhases.Succeeded, VmAction.None, PrintableStatuses.Stopped },
        { RunStrategies.Once, null, VmAction.CreateInstance, PrintableStatuses.Starting },
        { RunStrategies.Once, VmiPhases.Running, VmAction.None, PrintableStatuses.Running },
        { RunStrategies.Once, VmiPhases.Succeeded, VmAction.None, PrintableStatuses.Stopped },
        { RunStrategies.Once, VmiPhases.Failed, VmAction.None, PrintableStatuses.Stopped },
        { RunStrategies.Manual, null, VmAction.None, PrintableStatuses.Stopped },
        { RunStrategies.Manual, VmiPhases.Running, VmAction.None, PrintableStatuses.Running },
        { RunStrategies.Manual, VmiPhases.Failed, VmAction.None, PrintableStatuses.Stopped },
        { RunStrategies.Halted, null, VmAction.None, PrintableStatuses.Stopped },
        { RunStrategies.Halted, VmiPhases.Running, VmAction.DeleteInstance, PrintableStatuses.Stopping },
    };

    [Theory]
    [MemberData(nameof(Strategies))]
    public void EachRunStrategyActsOnWhatItSees(string strategy, string? phase, VmAction action, string printable) =>
        Expect(VirtualMachinePolicy.Decide(Vm(strategy), phase is null ? null : Vmi(phase)), action, printable);

    [Fact]
    public void AnInstanceOnItsWayOutIsWaitedForNotDeletedAgain()
    {
        Expect(VirtualMachinePolicy.Decide(Vm(RunStrategies.Halted), Vmi(VmiPhases.Running, deleting: true)), VmAction.None, PrintableStatuses.Stopping);
        Expect(VirtualMachinePolicy.Decide(Vm(RunStrategies.Always), Vmi(VmiPhases.Failed, deleting: true)), VmAction.None, PrintableStatuses.Stopped);
    }

    [Fact]
    public void RunningFalseAndTrueMeanHaltedAndAlways()
    {
        var vm = Vm(RunStrategies.Halted);
        vm.Spec.RunStrategy = null;
        vm.Spec.Running = true;
        Assert.Equal(VmAction.CreateInstance, VirtualMachinePolicy.Decide(vm, null).Action);
        vm.Spec.Running = false;
        Assert.Equal(VmAction.DeleteInstance, VirtualMachinePolicy.Decide(vm, Vmi(VmiPhases.Running)).Action);
    }

    [Fact]
    public void StartAndStopRequestsFinishOnlyWhenTheirEffectIsSeen()
    {
        var start = new StateChangeRequest { Action = StateChangeRequest.Start };
        Expect(VirtualMachinePolicy.Decide(Vm(RunStrategies.Manual, false, start), null), VmAction.CreateInstance, PrintableStatuses.Starting);
        Expect(VirtualMachinePolicy.Decide(Vm(RunStrategies.Manual, false, start), Vmi(VmiPhases.Pending)), VmAction.None, PrintableStatuses.Starting, done: 1);

        var stop = new StateChangeRequest { Action = StateChangeRequest.Stop };
        Expect(VirtualMachinePolicy.Decide(Vm(RunStrategies.Manual, false, stop), Vmi(VmiPhases.Running)), VmAction.DeleteInstance, PrintableStatuses.Stopping);
        Expect(VirtualMachinePolicy.Decide(Vm(RunStrategies.Manual, false, stop), Vmi(VmiPhases.Running, deleting: true)), VmAction.None, PrintableStatuses.Stopping);
        Expect(VirtualMachinePolicy.Decide(Vm(RunStrategies.Manual, false, stop), null), VmAction.None, PrintableStatuses.Stopped, done: 1);
    }

    [Fact]
    public void RestartStopsThisInstanceThenStartsANewOne()
    {
        StateChangeRequest[] restart = [new() { Action = StateChangeRequest.Stop, Uid = "uid-1" }, new() { Action = StateChangeRequest.Start }];
        // Under Always the controller alone would keep the running instance: the requests take precedence.
        Assert.Equal(VmAction.DeleteInstance, VirtualMachinePolicy.Decide(Vm(RunStrategies.Always, false, restart), Vmi(VmiPhases.Running, uid: "uid-1")).Action);
        Assert.Equal(VmAction.None, VirtualMachinePolicy.Decide(Vm(RunStrategies.Always, false, restart), Vmi(VmiPhases.Running, deleting: true, uid: "uid-1")).Action);
        Assert.Equal(1, VirtualMachinePolicy.Decide(Vm(RunStrategies.Always, false, restart), null).RequestsDone);       // uid-1 is gone
        Assert.Equal(VmAction.CreateInstance, VirtualMachinePolicy.Decide(Vm(RunStrategies.Always, false, restart[1]), null).Action);
        // A stop meant for an instance that is already gone does not stop its successor.
        Expect(VirtualMachinePolicy.Decide(Vm(RunStrategies.Always, false, restart[0]), Vmi(VmiPhases.Running, uid: "uid-2")), VmAction.None, PrintableStatuses.Running, done: 1);
    }

    [Fact]
    public void ADeletedVmTakesItsInstanceWithIt()
    {
        Expect(VirtualMachinePolicy.Decide(Vm(RunStrategies.Always, deleting: true), Vmi(VmiPhases.Running)), VmAction.DeleteInstance, PrintableStatuses.Terminating);
        Expect(VirtualMachinePolicy.Decide(Vm(RunStrategies.Always, deleting: true), null), VmAction.None, PrintableStatuses.Terminating);
    }

    [Fact]
    public void StatusReflectsReadinessPauseMigrationAndScheduling()
    {
        var ready = VirtualMachinePolicy.Decide(Vm(RunStrategies.Always), Vmi(VmiPhases.Running, ready: true));
        Assert.True(ready.Ready && ready.Created);
        Assert.False(VirtualMachinePolicy.Decide(Vm(RunStrategies.Always), Vmi(VmiPhases.Running)).Ready);
        Assert.Equal(PrintableStatuses.Paused,
            VirtualMachinePolicy.Decide(Vm(RunStrategies.Always), Vmi(VmiPhases.Running, conditions: new Condition { Type = "Paused", Status = "True" })).PrintableStatus);
        var migrating = Vmi(VmiPhases.Running);
        migrating.Status!.MigrationState = new MigrationState { StartTimestamp = DateTimeOffset.UtcNow };
        Assert.Equal(PrintableStatuses.Migrating, VirtualMachinePolicy.Decide(Vm(RunStrategies.Always), migrating).PrintableStatus);
        migrating.Status.MigrationState.Completed = true;
        Assert.Equal(PrintableStatuses.Running, VirtualMachinePolicy.Decide(Vm(RunStrategies.Always), migrating).PrintableStatus);
        Assert.Equal(PrintableStatuses.ErrorUnschedulable, VirtualMachinePolicy.Decide(Vm(RunStrategies.Always),
            Vmi(VmiPhases.Scheduling, conditions: new Condition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable" })).PrintableStatus);
    }
}
