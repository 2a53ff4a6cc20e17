using k8s.Models;

namespace Podvisor.Api.Tests;

/// <summary>Start, stop and restart for every run strategy and instance state, as KubeVirt's subresources decide them.</summary>
public sealed class StateChangePlannerTests
{
    private static VirtualMachine Vm(string? strategy, bool? running = null, params StateChangeRequest[] pending) => new()
    {
        Metadata = new V1ObjectMeta { Name = "vm1" },
        Spec = new VirtualMachineSpec { RunStrategy = strategy, Running = running },
        Status = pending.Length == 0 ? null : new VirtualMachineStatus { StateChangeRequests = [.. pending] },
    };

    private static VirtualMachineInstance Vmi(string phase, bool deleting = false) => new()
    {
        Metadata = new V1ObjectMeta { Name = "vm1", Uid = "uid-1", DeletionTimestamp = deleting ? DateTime.UtcNow : null },
        Status = new VirtualMachineInstanceStatus { Phase = phase },
    };

    private static string Show(StateChangePlan plan) => plan switch
    {
        StateChangePlan.Refused r => $"refused: {r.Why}",
        StateChangePlan.SetRunStrategy s => $"runStrategy {s.RunStrategy}",
        StateChangePlan.AddRequests a => string.Join(", ", a.Requests.Select(r => r.Uid is null ? r.Action : $"{r.Action}({r.Uid})")),
        _ => throw new InvalidOperationException(),
    };

    [Theory]
    [InlineData(RunStrategies.Halted, null, "runStrategy Always")]
    [InlineData(RunStrategies.Always, null, "refused: VM vm1 has runStrategy Always: the operator starts it by itself (its instance is being created)")]
    [InlineData(RunStrategies.Always, VmiPhases.Failed, "refused: VM vm1 has runStrategy Always: the operator starts it by itself (its instance is Failed)")]
    [InlineData(RunStrategies.Manual, null, "Start")]
    [InlineData(RunStrategies.Manual, VmiPhases.Succeeded, "Stop(uid-1), Start")]
    [InlineData(RunStrategies.Manual, VmiPhases.Running, "refused: VM vm1 is already running")]
    [InlineData(RunStrategies.Once, VmiPhases.Succeeded, "Stop(uid-1), Start")]
    [InlineData(RunStrategies.RerunOnFailure, VmiPhases.Succeeded, "Stop(uid-1), Start")]
    [InlineData(RunStrategies.RerunOnFailure, VmiPhases.Scheduling, "refused: VM vm1 is already running")]
    public void Start(string strategy, string? phase, string expected) =>
        Assert.Equal(expected, Show(StateChangePlanner.Start(Vm(strategy), phase is null ? null : Vmi(phase))));

    [Theory]
    [InlineData(RunStrategies.Always, VmiPhases.Running, "runStrategy Halted")]
    [InlineData(RunStrategies.Always, null, "runStrategy Halted")]             // between instances: stays down
    [InlineData(RunStrategies.RerunOnFailure, VmiPhases.Running, "runStrategy Halted")]
    [InlineData(RunStrategies.Once, VmiPhases.Running, "runStrategy Halted")]
    [InlineData(RunStrategies.Manual, VmiPhases.Running, "Stop(uid-1)")]
    [InlineData(RunStrategies.Manual, VmiPhases.Succeeded, "refused: VM vm1 is not running")]
    [InlineData(RunStrategies.Manual, null, "refused: VM vm1 is not running")]
    [InlineData(RunStrategies.Halted, null, "refused: VM vm1 is not running")]
    [InlineData(RunStrategies.Halted, VmiPhases.Running, "refused: VM vm1 is already stopping (runStrategy Halted)")]
    public void Stop(string strategy, string? phase, string expected) =>
        Assert.Equal(expected, Show(StateChangePlanner.Stop(Vm(strategy), phase is null ? null : Vmi(phase))));

    [Theory]
    [InlineData(RunStrategies.Always, VmiPhases.Running, "Stop(uid-1), Start")]
    [InlineData(RunStrategies.Manual, VmiPhases.Running, "Stop(uid-1), Start")]
    [InlineData(RunStrategies.Always, VmiPhases.Failed, "refused: VM vm1 is not running: start it instead")]
    [InlineData(RunStrategies.Halted, null, "refused: VM vm1 is not running: start it instead")]
    public void Restart(string strategy, string? phase, string expected) =>
        Assert.Equal(expected, Show(StateChangePlanner.Restart(Vm(strategy), phase is null ? null : Vmi(phase))));

    [Fact]
    public void AnInstanceBeingDeletedIsNotRunning() =>
        Assert.Equal("refused: VM vm1 is not running: start it instead", Show(StateChangePlanner.Restart(Vm(RunStrategies.Always), Vmi(VmiPhases.Running, deleting: true))));

    [Fact]
    public void TheOlderRunningFieldDecidesWhenThereIsNoRunStrategy()
    {
        Assert.Equal("runStrategy Always", Show(StateChangePlanner.Start(Vm(null, running: false), null)));
        Assert.Equal("runStrategy Halted", Show(StateChangePlanner.Stop(Vm(null, running: true), Vmi(VmiPhases.Running))));
        Assert.Equal("runStrategy Always", Show(StateChangePlanner.Start(Vm(null), null)));      // neither: Halted
    }

    [Fact]
    public void APendingRequestBlocksTheNext()
    {
        var vm = Vm(RunStrategies.Manual, null, new StateChangeRequest { Action = StateChangeRequest.Start });
        Assert.Equal("refused: VM vm1 still has a Start request pending: try again when the operator has carried it out", Show(StateChangePlanner.Stop(vm, null)));
    }

    [Fact]
    public void ADeletedVmTakesNoRequest()
    {
        var vm = Vm(RunStrategies.Halted);
        vm.Metadata.DeletionTimestamp = DateTime.UtcNow;
        Assert.Equal("refused: VM vm1 is being deleted", Show(StateChangePlanner.Start(vm, null)));
    }
}
