using Podvisor.Kvm;
using Podvisor.Kvm.Abi;
using Podvisor.Vmm.Devices.Virtio.Block;
using Podvisor.Vmm.Memory;
using Podvisor.Vmm.Migration;

namespace Podvisor.Vmm.Machine;

// What live migration needs of a VM: dirty-page tracking, vCPU throttling, and the whole machine state
// saved on the source and restored into a VM made with CreateIncoming on the target.
public sealed partial class VirtualMachine
{
    /// <summary>
    /// Turns on dirty-page tracking for guest RAM; the log's first <see cref="DirtyPageLog.Collect"/> returns every
    /// page (the full pass), later ones what changed since it was re-armed.
    /// </summary>
    internal DirtyPageLog StartDirtyLogging()
    {
        _dirtyLog ??= new DirtyPageLog(_vm, _ram);
        _dirtyLog.Start();
        return _dirtyLog;
    }

    public void StopDirtyLogging() => _dirtyLog?.Stop();

    private DirtyPageLog? _dirtyLog;

    /// <summary>
    /// The share of time (0–99 %) the vCPUs are held out of the guest: auto-converge slows a guest that
    /// dirties memory faster than the link carries it.
    /// </summary>
    public int ThrottlePercent
    {
        get => _throttle.Percent;
        set => _throttle.Percent = value;
    }

    /// <summary>Everything but guest RAM, from a paused VM (vCPUs parked, devices still).</summary>
    public MachineState SaveState()
    {
        lock (_stateLock)
        {
            if (_state != VmState.Paused) throw new InvalidOperationException($"machine state is saved from a paused VM, not a {_state} one");
        }
        var msrs = _migratableMsrs ?? throw new InvalidOperationException("the VM has no vCPUs");
        // What the guest wrote to its disks must be on shared storage before the target reads it (another node's cache).
        foreach (var disk in _virtio.Select(d => d.Device).OfType<VirtioBlock>().Where(b => !b.Disk.ReadOnly)) disk.Disk.Flush();
        var vcpus = _vcpus.Select(v => VcpuState.Capture(v, msrs)).ToList();
        var picMaster = _vm.GetIrqchip(KvmIrqchip.PicMaster);
        var picSlave = _vm.GetIrqchip(KvmIrqchip.PicSlave);
        var ioapic = _vm.GetIrqchip(KvmIrqchip.Ioapic);
        var pit = _vm.GetPit2();
        return new MachineState(
            Config.Cpus, _ram.Size, vcpus,
            StructBytes.From(picMaster), StructBytes.From(picSlave), StructBytes.From(ioapic), StructBytes.From(pit),
            _pausedClocks ?? throw new InvalidOperationException("a paused VM has its clocks"),
            Serial.SaveState(), _cmos.SaveState(), _i8042.SaveState(), _acpi.SaveState(),
            [.. _virtio.Select(d => d.Transport.SaveState())]);
    }

    /// <summary>
    /// Puts a source's state into this VM (made by <see cref="CreateIncoming"/>, not started; guest RAM
    /// already received): interrupt controllers and timers first, then vCPUs, then devices, whose pending
    /// interrupts are raised again into the restored controllers. <see cref="Start"/> then resumes the guest.
    /// </summary>
    public void RestoreState(MachineState state)
    {
        lock (_stateLock)
        {
            if (_state != VmState.Created || Boot is not null)
                throw new InvalidOperationException("state is restored into a VM made for an incoming migration, before it starts");
        }
        if (state.Cpus != Config.Cpus || state.Vcpus.Count != _vcpus.Count)
            throw new MigrationException($"the source has {state.Cpus} vCPUs, this VM {Config.Cpus}");
        if (state.MemoryBytes != _ram.Size)
            throw new MigrationException($"the source has {state.MemoryBytes >> 20} MiB of guest memory, this VM {_ram.Size >> 20} MiB");
        if (state.Virtio.Count != _virtio.Count)
            throw new MigrationException($"the source has {state.Virtio.Count} virtio devices, this VM {_virtio.Count}");
        _vm.SetIrqchip(StructBytes.To<KvmIrqchip>(state.PicMaster, "PIC master"));
        _vm.SetIrqchip(StructBytes.To<KvmIrqchip>(state.PicSlave, "PIC slave"));
        _vm.SetIrqchip(StructBytes.To<KvmIrqchip>(state.Ioapic, "IOAPIC"));
        _vm.SetPit2(StructBytes.To<KvmPitState2>(state.Pit, "PIT"));
        // What the fresh vCPUs held is true once: a second restore writes every MSR.
        var fresh = _freshMsrs;
        _freshMsrs = null;
        for (int i = 0; i < _vcpus.Count; i++) state.Vcpus[i].Restore(_vcpus[i], fresh?[i]);
        try
        {
            RestoreClocks(state.Clocks);
        }
        catch (ArgumentException e)
        {
            throw new MigrationException(e.Message, e);
        }
        Serial.RestoreState(state.Serial);
        _cmos.RestoreState(state.Cmos);
        _i8042.RestoreState(state.I8042);
        _acpi.RestoreState(state.AcpiPm);
        for (int i = 0; i < _virtio.Count; i++)
        {
            try
            {
                _virtio[i].Transport.RestoreState(state.Virtio[i]);
            }
            catch (ArgumentException e)
            {
                throw new MigrationException($"{_virtio[i].Name}: {e.Message}", e);
            }
        }
    }

    /// <summary>
    /// The handover: from this call the paused VM can never resume here (<see cref="Resume"/> refuses). It stays paused,
    /// its threads parked, until <see cref="CompleteMigration"/>: waking them to end (on a busy host, milliseconds of
    /// CPU) waits until the target has the VM running. Whatever stops it from here on, it stops as migrated. False, and
    /// nothing handed over, if the VM was stopped meanwhile (its owner asked: it must not come back to life elsewhere).
    /// </summary>
    public bool HandOver(string detail)
    {
        lock (_stateLock)
        {
            if (_state == VmState.Stopped) return false;
            if (_state != VmState.Paused) throw new InvalidOperationException($"a paused VM is handed over, not a {_state} one");
            _handedOver = detail;
            return true;
        }
    }

    /// <summary>Ends this VM because it now runs on the migration target.</summary>
    public void CompleteMigration(string detail) => Stop(StopReason.Migrated, detail);
}
