using Podvisor.Api;

namespace Podvisor.Cli.Tests;

/// <summary><c>podvisor start|stop|restart</c> against the real API server: what each writes for each run strategy (the
/// operator, tested on its own, carries it out), and what it refuses, saying why.</summary>
public sealed class StateChangeCommandTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private Podvisor.Result Cli(params string[] args) => Podvisor.Run([.. args, "--kubeconfig", cluster.Server.KubeconfigPath], native: true);

    private async Task<VirtualMachine> VmAsync(string name) => (await cluster.GetVmAsync(name))!;

    [Fact]
    public async Task StartingAHaltedVmMakesItAlwaysRunAndStoppingItHaltsItAgain()
    {
        await cluster.CreateVmAsync("web-halted", "runStrategy: Halted");
        var started = Cli("start", "web-halted");
        Assert.True(started.ExitCode == 0, started.Stderr);
        Assert.Equal("VM default/web-halted was scheduled to start\n", started.Stdout);
        Assert.Equal(RunStrategies.Always, (await VmAsync("web-halted")).Spec.RunStrategy);

        var again = Cli("start", "web-halted");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("VM web-halted has runStrategy Always: the operator starts it by itself", again.Stderr);

        await cluster.CreateRunningVmiAsync("web-halted");
        var running = Cli("start", "web-halted");
        Assert.Equal(1, running.ExitCode);
        Assert.Contains("VM web-halted is already running", running.Stderr);

        var stopped = Cli("stop", "web-halted");
        Assert.True(stopped.ExitCode == 0, stopped.Stderr);
        Assert.Equal(RunStrategies.Halted, (await VmAsync("web-halted")).Spec.RunStrategy);
        Assert.Null((await VmAsync("web-halted")).Status?.StateChangeRequests);
    }

    [Fact]
    public async Task AVmThatSaysRunningKeepsThatField()
    {
        await cluster.CreateVmAsync("web-running-field", "running: false");
        Assert.Equal(0, Cli("start", "web-running-field").ExitCode);
        var vm = await VmAsync("web-running-field");
        Assert.True(vm.Spec.Running);
        Assert.Null(vm.Spec.RunStrategy);                // both together would be invalid
    }

    [Fact]
    public async Task RestartAsksTheOperatorToStopThisInstanceAndStartANewOne()
    {
        await cluster.CreateVmAsync("web-restart", "runStrategy: Always");
        var notRunning = Cli("restart", "web-restart");
        Assert.Equal(1, notRunning.ExitCode);
        Assert.Contains("VM web-restart is not running: start it instead", notRunning.Stderr);

        var vmi = await cluster.CreateRunningVmiAsync("web-restart");
        var restarted = Cli("restart", "web-restart");
        Assert.True(restarted.ExitCode == 0, restarted.Stderr);
        Assert.Equal("VM default/web-restart was scheduled to restart\n", restarted.Stdout);
        var requests = (await VmAsync("web-restart")).Status!.StateChangeRequests!;
        Assert.Equal([(StateChangeRequest.Stop, vmi.Metadata.Uid), (StateChangeRequest.Start, null)], requests.Select(r => (r.Action, r.Uid)));
        Assert.Equal(RunStrategies.Always, (await VmAsync("web-restart")).Spec.RunStrategy);

        // Until the operator has carried those out, another request could undo them.
        var second = Cli("stop", "web-restart");
        Assert.Equal(1, second.ExitCode);
        Assert.Contains("VM web-restart still has a Stop, Start request pending: try again when the operator has carried it out", second.Stderr);
    }

    [Fact]
    public async Task AManualVmStartsAndStopsByRequests()
    {
        await cluster.CreateVmAsync("web-manual", "runStrategy: Manual");
        Assert.Contains("VM web-manual is not running", Cli("stop", "web-manual").Stderr);
        Assert.Equal(0, Cli("start", "web-manual").ExitCode);
        var vm = await VmAsync("web-manual");
        Assert.Equal([StateChangeRequest.Start], vm.Status!.StateChangeRequests!.Select(r => r.Action));
        Assert.Equal(RunStrategies.Manual, vm.Spec.RunStrategy);

        // The operator carried it out: the request is gone, the instance runs; stop asks for that instance to go.
        await cluster.UpdateVmStatusAsync(vm, s => s.StateChangeRequests = null);
        var vmi = await cluster.CreateRunningVmiAsync("web-manual");
        Assert.Equal(0, Cli("stop", "web-manual").ExitCode);
        Assert.Equal([(StateChangeRequest.Stop, vmi.Metadata.Uid)], (await VmAsync("web-manual")).Status!.StateChangeRequests!.Select(r => (r.Action, r.Uid)));
    }

    [Fact]
    public async Task AVmThatRanOnceIsRunAgainOnANewInstance()
    {
        await cluster.CreateVmAsync("batch-once", "runStrategy: Once");
        var vmi = await cluster.CreateRunningVmiAsync("batch-once");
        await cluster.UpdateVmiStatusAsync(vmi, s => s.Phase = VmiPhases.Succeeded);
        Assert.Equal(0, Cli("start", "batch-once").ExitCode);
        Assert.Equal([(StateChangeRequest.Stop, vmi.Metadata.Uid), (StateChangeRequest.Start, null)],
            (await VmAsync("batch-once")).Status!.StateChangeRequests!.Select(r => (r.Action, r.Uid)));
    }

    [Fact]
    public void AVmThatDoesNotExistIsNamedWithTheNamespaceLookedIn()
    {
        var result = Cli("stop", "nosuch", "-n", "default");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no VM nosuch in namespace default (`podvisor list -n default` shows those there; -n picks another namespace)", result.Stderr);
    }
}
