using Podvisor.Testing;
using Podvisor.Vmm.Machine;
using static Podvisor.Vmm.Tests.CountingGuestProbe;

namespace Podvisor.Vmm.Tests;

/// <summary>
/// TryPause and TryResume on this host's KVM (a hand-built counting guest: kvm_pvm runs it): each checks and changes
/// the state under one lock, so a caller racing a stop gets false instead of an exception (the launcher's pause and
/// unpause requests, a migration's stop-and-copy).
/// </summary>
public sealed class PauseTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-pause-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private VirtualMachine CountingGuest()
    {
        string kernel = Path.Combine(_dir, "counter.elf");
        TinyPvhGuest.WriteCounter(kernel, 1);
        return VirtualMachine.Create(new MachineConfig { KernelPath = kernel, MemoryMiB = 16, CommandLine = "" }, _ => { });
    }

    private static void WaitForCounting(VirtualMachine vm)
    {
        uint start = Counter(vm);
        WaitFor(() => Counter(vm) != start, "the guest to count");
    }

    [Fact]
    public void TryPauseHoldsTheGuestAndTryResumeLetsItCountOn()
    {
        using var vm = CountingGuest();
        vm.Start();
        WaitForCounting(vm);
        Assert.True(vm.TryPause());
        Assert.Equal(VmState.Paused, vm.State);
        uint held = Counter(vm);
        Thread.Sleep(200);
        Assert.Equal(held, Counter(vm));
        Assert.False(vm.TryPause());                       // already paused: nothing to do, nothing thrown
        Assert.True(vm.TryResume());
        WaitForCounting(vm);
        Assert.Equal(VmState.Running, vm.State);
        vm.Stop(StopReason.HostRequest, "test");
    }

    [Fact]
    public void TryPauseOfAVmThatIsNotRunningSaysFalseAndChangesNothing()
    {
        using var vm = CountingGuest();
        Assert.False(vm.TryPause());                       // created, not started
        Assert.Equal(VmState.Created, vm.State);
        vm.Start();
        vm.Stop(StopReason.HostRequest, "test");
        Assert.False(vm.TryPause());
        Assert.False(vm.TryResume());
        Assert.Equal(VmState.Stopped, vm.State);
        Assert.Throws<InvalidOperationException>(() => vm.Pause());
    }

    [Fact]
    public async Task PauseAndStopFromTwoThreadsNeverHangOrThrow()
    {
        // A stop while a pause waits for the vCPUs to park sends them home without parking; the pause must see it.
        // (Waiting for the parking alone hung within these 300 rounds, ~9 s.)
        var token = TestContext.Current.CancellationToken;
        for (int i = 0; i < 300; i++)
        {
            using var vm = CountingGuest();
            vm.Start();
            WaitForCounting(vm);
            var pause = Task.Run(vm.TryPause, token);
            var stop = Task.Run(() => vm.Stop(StopReason.HostRequest, "test"), token);
            await Task.WhenAll(pause, stop).WaitAsync(TimeSpan.FromSeconds(20), token);
            Assert.Equal(VmState.Stopped, vm.State);
        }
    }
}
