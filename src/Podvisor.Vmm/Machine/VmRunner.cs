namespace Podvisor.Vmm.Machine;

/// <summary>
/// Runs a VM to its end, applying the reboot policy: with <see cref="RebootPolicy.Restart"/> a guest reset
/// boots a fresh VM from the same configuration (kernel reloaded, vCPUs reset), up to a number of times.
/// </summary>
public static class VmRunner
{
    /// <param name="onStarted">Called with each VM once it runs (to stop it from outside, e.g. on Ctrl-C).</param>
    /// <param name="kernel">The parsed kernel, if the caller has it (it is read once for every restart).</param>
    public static VmStopped Run(MachineConfig config, Action<byte> console, RebootPolicy policy, int maxRestarts = int.MaxValue,
        Action<VirtualMachine>? onStarted = null, string kvmDevice = "/dev/kvm", Boot.KernelImage? kernel = null)
    {
        for (int restarts = 0; ; restarts++)
        {
            VmStopped stopped;
            using (var vm = VirtualMachine.Create(config, console, kvmDevice, kernel))
            {
                vm.Start();
                onStarted?.Invoke(vm);
                stopped = vm.Stopped.GetAwaiter().GetResult();
            }
            if (stopped.Reason != StopReason.GuestReset || policy != RebootPolicy.Restart || restarts >= maxRestarts)
                return stopped;
        }
    }
}
