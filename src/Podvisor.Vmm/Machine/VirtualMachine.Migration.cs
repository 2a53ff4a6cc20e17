using System.Diagnostics;
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
    /// <summary>Turns on KVM's dirty log for guest RAM and forgets what was written before (the full pass sends it).</summary>
    public void StartDirtyLogging()
    {
        SetDirtyLogging(true);
        TakeDirtyPages();
    }

    public void StopDirtyLogging() => SetDirtyLogging(false);

    private void SetDirtyLogging(bool on)
    {
        foreach (var slot in _vm.MemorySlots)
        {
            var flags = on ? slot.Flags | MemorySlotFlags.LogDirtyPages : slot.Flags & ~MemorySlotFlags.LogDirtyPages;
            if (flags != slot.Flags) _vm.SetMemorySlot(slot with { Flags = flags });
        }
    }

    /// <summary>
    /// Pages written since the last call — by the guest (KVM's dirty log) or by the VMM (loader, devices) —
    /// numbered as pages of <see cref="GuestRam.Host"/>; the logs start afresh.
    /// </summary>
    public DirtyBitmap TakeDirtyPages()
    {
        var dirty = _ram.TakeVmmDirty();
        foreach (var slot in _vm.MemorySlots)
        {
            if ((slot.Flags & MemorySlotFlags.LogDirtyPages) == 0) continue;
            var log = _vm.GetDirtyLog(slot.Slot);
            ulong first = slot.MemoryOffset / GuestRam.PageSize;
            for (int w = 0; w < log.Words.Length; w++)
            {
                ulong bits = log.Words[w];
                while (bits != 0)
                {
                    int b = System.Numerics.BitOperations.TrailingZeroCount(bits);
                    dirty.MarkDirty(first + (ulong)w * 64 + (ulong)b);
                    bits &= bits - 1;
                }
            }
        }
        return dirty;
    }

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
        // Both guest clocks, read back to back (they run on while the VM is paused), each TSC brought back to
        // the moment kvmclock was read: an ioctl takes milliseconds in a nested host, enough for Linux's
        // clocksource watchdog to see a skew.
        long clockRead = Stopwatch.GetTimestamp();
        var clock = _vm.GetClock();
        clockRead = (clockRead + Stopwatch.GetTimestamp()) / 2;
        var tsc = new List<ulong>(_vcpus.Count);
        for (int i = 0; i < _vcpus.Count; i++)
        {
            long before = Stopwatch.GetTimestamp();
            ulong value = _vcpus[i].GetMsrs(VcpuState.TscMsr)[0].Data;
            tsc.Add(value - Math.Min(value, TscCycles(vcpus[i].TscKhz, (before + Stopwatch.GetTimestamp()) / 2 - clockRead)));
        }
        return new MachineState(
            Config.Cpus, _ram.Size, vcpus,
            StructBytes.From(picMaster), StructBytes.From(picSlave), StructBytes.From(ioapic), StructBytes.From(pit),
            StructBytes.From(clock), tsc,
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
        if (state.Tsc.Count != _vcpus.Count) throw new MigrationException($"the source sent {state.Tsc.Count} TSC values for {_vcpus.Count} vCPUs");
        for (int i = 0; i < _vcpus.Count; i++) state.Vcpus[i].Restore(_vcpus[i]);
        RestoreClocks(state);
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
    /// kvmclock and the TSCs, back to back as they were read (each TSC moved on by the time since kvmclock was
    /// set), then the TSC deadlines (armed against the restored TSC). The guest sees no time pass while it was stopped (as with QEMU). KVM takes a TSC
    /// write within a second of what it expects as an attempt to synchronise vCPUs and keeps its old offset;
    /// the first vCPU's value is therefore preceded by one ten seconds away, so it is taken exactly, and
    /// the others (within a second of it) share its offset, as they did on the source.
    /// </summary>
    private void RestoreClocks(MachineState state)
    {
        ulong tenSeconds = (ulong)Math.Max(1, state.Vcpus[0].TscKhz) * 10_000;
        _vcpus[0].SetMsrs(new KvmMsrEntry(VcpuState.TscMsr, state.Tsc[0] + tenSeconds));
        long clockSet = Stopwatch.GetTimestamp();
        _vm.SetClock(StructBytes.To<KvmClockData>(state.Clock, "kvmclock") with { Flags = 0 });
        clockSet = (clockSet + Stopwatch.GetTimestamp()) / 2;
        // Each TSC as far past its saved value as kvmclock has run since it was set.
        for (int i = 0; i < _vcpus.Count; i++)
            _vcpus[i].SetMsrs(new KvmMsrEntry(VcpuState.TscMsr, state.Tsc[i] + TscCycles(state.Vcpus[i].TscKhz, Stopwatch.GetTimestamp() - clockSet)));
        for (int i = 0; i < _vcpus.Count; i++)
        {
            if (state.Vcpus[i].Msr(VcpuState.TscDeadlineMsr) is { } deadline)
                _vcpus[i].SetMsrs(new KvmMsrEntry(VcpuState.TscDeadlineMsr, deadline));
        }
    }

    /// <summary>TSC cycles in a <see cref="Stopwatch"/> interval at <paramref name="khz"/> (0: unknown rate, no cycles).</summary>
    private static ulong TscCycles(int khz, long stopwatchTicks) =>
        khz <= 0 || stopwatchTicks <= 0 ? 0 : (ulong)(stopwatchTicks * (double)khz * 1000 / Stopwatch.Frequency);

    /// <summary>Ends this VM because it now runs on the migration target.</summary>
    public void CompleteMigration(string detail) => Stop(StopReason.Migrated, detail);
}
