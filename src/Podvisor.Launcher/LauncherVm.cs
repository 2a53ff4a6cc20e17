using Podvisor.Api.Control;
using Podvisor.Launcher.Migration;
using Podvisor.Vmm.Machine;
using Podvisor.Vmm.Migration;

namespace Podvisor.Launcher;

/// <summary>
/// Runs the pod's VM to its end and is what the control API acts on. A guest reboot boots the guest again
/// (libvirt's default for KubeVirt VMs: the instance lives on), unless a shutdown was asked for: then a reset
/// ends the VM too (a guest that answers the power button by rebooting still goes away). <see cref="Shutdown"/>
/// is SIGTERM's path: power button, the grace period, then a hard stop (a migration under way is cancelled first).
/// A migration target (<see cref="RunIncoming"/>) makes the VM empty, receives it from the source and runs it from
/// there; a source sends it on <see cref="StartMigration"/> and ends when the target has it.
/// </summary>
/// <param name="incoming">For a migration target: where the VM comes from (then <see cref="RunIncoming"/>, not <see cref="Run(string)"/>).</param>
public sealed class LauncherVm(string name, MachineConfig config, Action<byte> console, IncomingMigration? incoming = null) : IVmControl
{
    private readonly Lock _lock = new();
    private VirtualMachine? _vm;
    private VirtualMachine? _measured;
    private readonly Vmm.Diagnostics.ExitStatistics _finishedExits = new();
    private VmStopped? _stopped;
    private readonly IncomingMigration? _incoming = incoming;
    private OutgoingMigration? _outgoing;
    private readonly CancellationTokenSource _incomingStop = new();
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
                string state = _stopped is not null ? nameof(VmState.Stopped)
                    : _incoming is { Status.Phase: not LauncherMigrationPhases.Completed } ? IncomingState
                    : _vm is null ? "Starting" : _vm.State.ToString();
                return new VmStatus(name, state, config.Cpus, config.MemoryMiB, _restarts, _bootTimeMs, _stopped?.Reason.ToString(), _stopped?.Detail, GuestInterfaces?.Invoke());
            }
        }
    }

    /// <summary>Boots the guest and returns when the VM has ended for good.</summary>
    public VmStopped Run(string kvmDevice = "/dev/kvm") =>
        Run(kvmDevice, _incoming is null ? null : throw new InvalidOperationException("a migration target receives its VM: RunIncoming"), null);

    /// <summary>
    /// A migration target's life: the VM made empty, filled by the source through the incoming migration and run
    /// from where it was; then as <see cref="Run(string)"/> (a guest reboot boots the kernel here).
    /// </summary>
    /// <exception cref="LauncherException">The migration failed: the VM never ran here.</exception>
    public VmStopped RunIncoming(MigrationOptions options, string kvmDevice = "/dev/kvm") =>
        Run(kvmDevice, _incoming ?? throw new InvalidOperationException("this launcher was not made as a migration target"), options);

    private VmStopped Run(string kvmDevice, IncomingMigration? incoming, MigrationOptions? options)
    {
        Vmm.Boot.KernelImage? kernel = incoming is null ? Vmm.Boot.KernelImage.Load(config.KernelPath) : null;
        while (true)
        {
            if (StoppedBeforeBoot() is { } early) return early;
            VmStopped stopped;
            using (var vm = incoming is null ? VirtualMachine.Create(config, console, kvmDevice, kernel ??= Vmm.Boot.KernelImage.Load(config.KernelPath))
                                             : VirtualMachine.CreateIncoming(config, console, kvmDevice))
            {
                try
                {
                    vm.BootTimer.Marked += elapsed => { lock (_lock) _bootTimeMs = elapsed.TotalMilliseconds; };
                    if (StoppedBeforeBoot(publish: vm) is { } meanwhile) return meanwhile;   // asked while the VM was being made
                    if (incoming is null) vm.Start();
                    else
                    {
                        try
                        {
                            incoming.ReceiveAsync(vm, options!, _incomingStop.Token).GetAwaiter().GetResult();
                        }
                        catch (LauncherException e)
                        {
                            lock (_lock) _stopped = new VmStopped(StopReason.Error, e.Message);
                            throw;
                        }
                        incoming = null;
                    }
                    Started?.Invoke(vm);
                    stopped = vm.Stopped.GetAwaiter().GetResult();
                    // The VM stops at the handover, before Go has left and the target has answered: see the migration to its end.
                    if (stopped.Reason == StopReason.Migrated) OutgoingCompletion.GetAwaiter().GetResult();
                }
                finally
                {
                    Retire(vm);            // however it ended, before its memory is unmapped
                }
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
                if (publish is not null) _vm = _measured = publish;
                return null;
            }
            _stopped = new VmStopped(StopReason.HostRequest, _vm is null ? "stopped before the guest started" : "stopped while the guest rebooted");
            return _stopped;
        }
    }

    /// <summary>A VM that ends (before it is disposed): its exits join the launcher's totals and usage stops reading it.</summary>
    private void Retire(VirtualMachine vm)
    {
        lock (_lock)
        {
            if (_measured != vm) return;
            _measured = null;
            _finishedExits.Add(vm.Exits);
        }
    }

    /// <summary>
    /// What the VM costs and does, for metrics: vCPU exits since the launcher started (over the guest's reboots), and the
    /// guest RAM the host backs now (null while no VM exists).
    /// </summary>
    public VmUsage Usage()
    {
        lock (_lock)       // a VM is retired under this lock before it is disposed: its memory stays mapped while read
        {
            var exits = _finishedExits.ByReason().ToDictionary(e => e.Reason, e => e.Count);
            foreach (var (reason, count) in _measured?.Exits.ByReason() ?? []) exits[reason] = exits.GetValueOrDefault(reason) + count;
            return new VmUsage(config.MemoryMiB * 1024 * 1024, exits, _measured is { } live ? GuestResident(live) : null, _bootTimeMs);
        }
    }

    private static GuestResidency? GuestResident(VirtualMachine vm)
    {
        var host = vm.Memory.Host;
        try
        {
            // hugetlbfs pages are not counted in a process's RSS (only anonymous and file pages are).
            return new GuestResidency(host.ResidentBytes(), InProcessRss: host.HugeTlbPageSize == 0);
        }
        catch (Kvm.KvmException)
        {
            return null;
        }
    }

    /// <summary>The state a migration target reports until the VM has arrived and runs.</summary>
    public const string IncomingState = "WaitingForMigration";

    /// <summary>This launcher's side of the current or last migration, or null.</summary>
    public LauncherMigrationStatus? Migration
    {
        get
        {
            lock (_lock) return _outgoing?.Status ?? _incoming?.Status;
        }
    }

    /// <summary>Starts sending the VM to a target; returns null, or why not (nothing started).</summary>
    public string? StartMigration(MigrateRequest request, Action<string> log)
    {
        if (request.Problems() is { Count: > 0 } problems) return "the request is malformed: " + string.Join("; ", problems);
        lock (_lock)
        {
            if (_incoming is not null) return "this launcher is a migration target";
            if (_outgoing is { Finished: false } running)
                return running.MigrationUid == request.MigrationUid ? null : $"migration {running.MigrationUid} is under way; cancel it first";
            if (_outgoing is { MigrationUid: var uid, Status.Phase: LauncherMigrationPhases.Completed } && uid == request.MigrationUid) return null;
            var vm = _stopped is null ? _vm : null;
            if (vm is null || vm.State != VmState.Running)
                return $"only a running VM migrates; this one is {(vm is null ? (_stopped is null ? "starting" : "stopped") : vm.State.ToString())}";
            _outgoing = new OutgoingMigration(request);
            _outgoing.Start(vm, log);
            return null;
        }
    }

    /// <summary>Asks the migration under way to stop: true if asked, false if there is none or it is too late (the VM was handed over).</summary>
    public bool CancelMigration()
    {
        OutgoingMigration? outgoing;
        lock (_lock) outgoing = _outgoing;
        return outgoing is { Finished: false } && outgoing.Cancel();
    }

    public bool Pause() => Current?.TryPause() ?? false;

    public bool Unpause()
    {
        return Current?.TryResume() ?? false;
    }

    public bool RequestShutdown()
    {
        lock (_lock) _shutdownRequested = true;
        var vm = Current;
        if (vm is null) return false;
        vm.TryResume();                                               // a paused guest cannot hear the button
        return vm.RequestShutdown();
    }

    public void Stop()
    {
        lock (_lock) _shutdownRequested = true;
        _incomingStop.Cancel();
        Current?.Stop(StopReason.HostRequest, "stopped through the control API");
    }

    /// <summary>Power button, then up to <paramref name="grace"/> for the guest to go, then a hard stop.</summary>
    public async Task ShutdownAsync(TimeSpan grace, Action<string> log)
    {
        if (Incoming)
        {
            log("stopping: the VM had not arrived, nothing ran here");
            Stop();
            return;
        }
        OutgoingMigration? outgoing;
        lock (_lock) outgoing = _outgoing;
        if (outgoing is { Finished: false } && outgoing.Cancel())
        {
            log($"cancelling migration {outgoing.MigrationUid} before shutting down");
            await outgoing.Completion;
            if (outgoing.Status.HandedOver == true) return;       // the VM left for the target meanwhile: nothing to shut down here
        }
        bool heard = RequestShutdown();
        log(heard ? $"asked the guest to shut down (ACPI power button); waiting up to {grace.TotalSeconds:0} s"
                  : $"pressed the power button, but the guest does not listen to it; waiting up to {grace.TotalSeconds:0} s before stopping it");
        var vm = Current;
        if (vm is not null && await Task.WhenAny(vm.Stopped, Task.Delay(grace)) == vm.Stopped) return;
        log("the guest did not shut down within the grace period: stopping it");
        Current?.Stop(StopReason.HostRequest, $"the guest did not shut down within {grace.TotalSeconds:0} s of the request");
    }

    private Task OutgoingCompletion
    {
        get { lock (_lock) return _outgoing?.Completion ?? Task.CompletedTask; }
    }

    private bool Incoming
    {
        get { lock (_lock) return _stopped is null && _incoming is { Status.Phase: not LauncherMigrationPhases.Completed }; }
    }

    private VirtualMachine? Current
    {
        get { lock (_lock) return _stopped is null ? _vm : null; }
    }
}
