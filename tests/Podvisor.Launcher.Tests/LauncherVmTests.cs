using Podvisor.Testing;
using Podvisor.Vmm.Machine;

namespace Podvisor.Launcher.Tests;

public sealed class LauncherVmTests
{
    private static MachineConfig Config => new() { KernelPath = Path.GetFullPath(Path.Combine(Repository.Root, "..", "shared", "guest", "bzImage")) };

    [Fact]
    public void AShutdownAskedBeforeTheGuestStartsMeansItNeverBoots()
    {
        // A pod deleted while its launcher starts: SIGTERM comes before the VM exists.
        var vm = new LauncherVm("default/vm1", Config, _ => { });
        Assert.False(vm.RequestShutdown());                          // nothing to hear the button yet
        var stopped = vm.Run("/nonexistent/kvm");                    // would fail if it tried to create the VM
        Assert.Equal(StopReason.HostRequest, stopped.Reason);
        Assert.Equal("stopped before the guest started", stopped.Detail);
        Assert.Equal("Stopped", vm.Status.State);
    }

    [Fact]
    public void AStopBeforeStartIsTheSame()
    {
        var vm = new LauncherVm("default/vm1", Config, _ => { });
        vm.Stop();
        Assert.Equal(StopReason.HostRequest, vm.Run("/nonexistent/kvm").Reason);
        Assert.False(vm.Pause());
        Assert.False(vm.Unpause());
    }
}
