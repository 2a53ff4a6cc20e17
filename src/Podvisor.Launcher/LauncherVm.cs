using Podvisor.Vmm.Machine;

namespace Podvisor.Launcher;

/// <summary>
/// Runs the pod's VM to its end and is what the control API acts on. A guest reboot boots the guest again
/// (libvirt's default for KubeVirt VMs: the instance lives on), unless a shutdown was asked for: then a reset
/// ends the VM too (a guest that answers the power button by rebooting still goes away). <see cref="Shutdown"/>
/// is SIGTERM's path: power button, the grace period, then a hard stop.
/// </summary>
public sealed class LauncherVm(string name, MachineConfig config, Action<byte> console) : IVmControl
{
    private readonly Lock _lock = new();
    private VirtualMachine? _vm;
    private VmStopped? _stopped;
    private int _restarts;
    private bool _shutdownRequested;
    private double? _bootTimeMs;

    /// <summary>The guest's NICs for <see cref="Status"/> (the pod network's DHCP server knows their addresses).</summary>
    public Func<IReadOnlyList<GuestInterface>>? GuestInterfaces { get; set; }

    /// <summary>Called with each VM once it runs (console input, logging).</summary>
    public event Action<VirtualMachine>? Started;

    public VmStatus Status
    {
        get
        {
            lock (_lock)
            {
                string state = _stopped is not null ? nameof(VmState.Stopped) : _vm is null ? "Starting" : _vm.State.ToString();
                return new VmStatus(name, state, config.Cpus, config.MemoryMiB, _restarts, _bootTimeMs, _stopped?.Reason.ToString(), _stopped?.Detail, GuestInterfaces?.Invoke());
            }
        }
    }

    /// <summary>Boots the guest and returns when the VM has ended for good.</summary>
    public VmStopped Run(string kvmDevice = "/dev/kvm")
    {
        var kernel = Vmm.Boot.KernelImage.Load(config.KernelPath);
        while (true)
        {
            if (StoppedBeforeBoot() is { } early) return early;
            VmStopped stopped;
            using (var vm = VirtualMachine.Create(config, console, kvmDevice, kernel))
            {
                vm.BootTimer.Marked += elapsed => { lock (_lock) _bootTimeMs = elapsed.TotalMilliseconds; };
                if (StoppedBeforeBoot(publish: vm) is { } meanwhile) return meanwhile;   // asked while the VM was being made
                vm.Start();
                Started?.Invoke(vm);
                stopped = vm.Stopped.GetAwaiter().GetResult();
            }
            lock (_lock)
            {
                if (stopped.Reason != StopReason.GuestReset || _shutdownRequested)
                {
                    _stopped = stopped;
                    return stopped;
                }
                _restarts++;
            }
        }
    }

    /// <summary>Console input for the guest's serial port (dropped while no VM runs).</summary>
    public void CurrentSerialInput(ReadOnlySpan<byte> input) => Current?.Serial.QueueInput(input);

    /// <summary>A shutdown asked before the guest started (a pod deleted while starting) or while it rebooted: it does not
    /// boot. Otherwise <paramref name="publish"/>, if given, becomes the current VM in the same step, so a later request finds it.</summary>
    private VmStopped? StoppedBeforeBoot(VirtualMachine? publish = null)
    {
        lock (_lock)
        {
            if (!_shutdownRequested)
            {
                if (publish is not null) _vm = publish;
                return null;
            }
            _stopped = new VmStopped(StopReason.HostRequest, _vm is null ? "stopped before the guest started" : "stopped while the guest rebooted");
            return _stopped;
        }
    }

    public bool Pause()
    {
        var vm = Current;
        if (vm is null || vm.State != VmState.Running) return false;
        vm.Pause();
        return true;
    }

    public bool Unpause()
    {
        var vm = Current;
        if (vm is null || vm.State != VmState.Paused) return false;
        vm.Resume();
        return true;
    }

    public bool RequestShutdown()
    {
        lock (_lock) _shutdownRequested = true;
        var vm = Current;
        if (vm is null) return false;
        if (vm.State == VmState.Paused) vm.Resume();                 // a paused guest cannot hear the button
        return vm.RequestShutdown();
    }

    public void Stop()
    {
        lock (_lock) _shutdownRequested = true;
        Current?.Stop(StopReason.HostRequest, "stopped through the control API");
    }

    /// <summary>Power button, then up to <paramref name="grace"/> for the guest to go, then a hard stop.</summary>
    public async Task ShutdownAsync(TimeSpan grace, Action<string> log)
    {
        bool heard = RequestShutdown();
        log(heard ? $"asked the guest to shut down (ACPI power button); waiting up to {grace.TotalSeconds:0} s"
                  : $"pressed the power button, but the guest does not listen to it; waiting up to {grace.TotalSeconds:0} s before stopping it");
        var vm = Current;
        if (vm is not null && await Task.WhenAny(vm.Stopped, Task.Delay(grace)) == vm.Stopped) return;
        log("the guest did not shut down within the grace period: stopping it");
        Current?.Stop(StopReason.HostRequest, $"the guest did not shut down within {grace.TotalSeconds:0} s of the request");
    }

    private VirtualMachine? Current
    {
        get { lock (_lock) return _stopped is null ? _vm : null; }
    }
}
