using System.Buffers.Binary;
using Podvisor.Vmm.Devices;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Virtio;

/// <summary>
/// The virtio-mmio (version 2) register window of one device: feature negotiation, queue setup, the
/// status state machine (reset → ACKNOWLEDGE → DRIVER → FEATURES_OK → DRIVER_OK) and the interrupt status
/// the driver acknowledges. Register accesses come from vCPU threads; queue work from the device's I/O
/// thread through <see cref="ProcessNotification"/>. A lock keeps activation and reset apart from queue work.
/// </summary>
public sealed class VirtioMmioTransport : IMmioDevice, IVirtioInterrupt
{
    /// <summary>The window each device occupies (the kernel's <c>virtio_mmio.device=4K@…</c>).</summary>
    public const ulong WindowSize = 0x1000;

    private readonly IGuestMemory _memory;
    private readonly IInterruptLine _line;
    private readonly Action<int>? _queueNotified;
    private readonly Lock _lock = new();
    private uint _deviceFeaturesSel, _driverFeaturesSel, _queueSel, _interruptStatus, _configGeneration, _status;
    private ulong _driverFeatures;
    private long _badAccesses;

    /// <param name="queueNotified">Where a QueueNotify write that reached the VMM goes (the device's I/O
    /// thread); null handles it at once on the writing thread (tests).</param>
    public VirtioMmioTransport(VirtioDevice device, IGuestMemory memory, IInterruptLine line, Action<int>? queueNotified = null)
    {
        Device = device;
        _memory = memory;
        _line = line;
        _queueNotified = queueNotified;
    }

    public VirtioDevice Device { get; }

    public DeviceStatus Status => (DeviceStatus)Volatile.Read(ref _status);

    public uint InterruptStatus => Volatile.Read(ref _interruptStatus);

    /// <summary>Accesses the driver should never make (wrong width, unknown or read-only register); ignored.</summary>
    public long BadAccesses => Interlocked.Read(ref _badAccesses);

    /// <summary>Why the last queue could not be made ready, if one could not.</summary>
    public string? LastQueueProblem { get; private set; }

    public ulong OfferedFeatures => Device.Features | VirtioFeatures.Common;

    public void Read(ulong offset, Span<byte> data)
    {
        if (offset >= MmioRegisters.Config)
        {
            Device.ReadConfig((uint)(offset - MmioRegisters.Config), data);
            return;
        }
        if (data.Length != 4 || offset % 4 != 0)
        {
            Interlocked.Increment(ref _badAccesses);
            data.Clear();
            return;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(data, ReadRegister((uint)offset));
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset >= MmioRegisters.Config)
        {
            Device.WriteConfig((uint)(offset - MmioRegisters.Config), data);
            return;
        }
        if (data.Length != 4 || offset % 4 != 0)
        {
            Interlocked.Increment(ref _badAccesses);
            return;
        }
        WriteRegister((uint)offset, BinaryPrimitives.ReadUInt32LittleEndian(data));
    }

    private Virtqueue? SelectedQueue => _queueSel < Device.Queues.Count ? Device.Queues[(int)_queueSel] : null;

    private uint ReadRegister(uint register)
    {
        switch (register)
        {
            case MmioRegisters.MagicValue: return MmioRegisters.Magic;
            case MmioRegisters.Version: return 2;
            case MmioRegisters.DeviceId: return (uint)Device.Type;
            case MmioRegisters.VendorId: return MmioRegisters.PodvisorVendor;
            case MmioRegisters.DeviceFeatures:
                return _deviceFeaturesSel switch { 0 => (uint)OfferedFeatures, 1 => (uint)(OfferedFeatures >> 32), _ => 0 };
            case MmioRegisters.QueueNumMax: return SelectedQueue?.MaxSize ?? 0u;
            case MmioRegisters.QueueReady: return SelectedQueue is { Ready: true } ? 1u : 0u;
            case MmioRegisters.InterruptStatus: return InterruptStatus;
            case MmioRegisters.Status: return (uint)Status;
            case MmioRegisters.ShmLenLow or MmioRegisters.ShmLenHigh: return uint.MaxValue;   // no shared memory regions
            case MmioRegisters.ShmBaseLow or MmioRegisters.ShmBaseHigh: return uint.MaxValue;
            case MmioRegisters.ConfigGeneration: return Volatile.Read(ref _configGeneration);
            case MmioRegisters.QueueNum: return SelectedQueue?.Size ?? 0u;
            case MmioRegisters.QueueDescLow: return (uint)(SelectedQueue?.DescriptorTable.Value ?? 0);
            case MmioRegisters.QueueDescHigh: return (uint)((SelectedQueue?.DescriptorTable.Value ?? 0) >> 32);
            case MmioRegisters.QueueDriverLow: return (uint)(SelectedQueue?.AvailRing.Value ?? 0);
            case MmioRegisters.QueueDriverHigh: return (uint)((SelectedQueue?.AvailRing.Value ?? 0) >> 32);
            case MmioRegisters.QueueDeviceLow: return (uint)(SelectedQueue?.UsedRing.Value ?? 0);
            case MmioRegisters.QueueDeviceHigh: return (uint)((SelectedQueue?.UsedRing.Value ?? 0) >> 32);
            default:
                Interlocked.Increment(ref _badAccesses);
                return 0;
        }
    }

    private void WriteRegister(uint register, uint value)
    {
        switch (register)
        {
            case MmioRegisters.DeviceFeaturesSel: _deviceFeaturesSel = value; return;
            case MmioRegisters.DriverFeaturesSel: _driverFeaturesSel = value; return;
            case MmioRegisters.DriverFeatures:
                if (Status.HasFlag(DeviceStatus.FeaturesOk) || _driverFeaturesSel > 1) break;
                _driverFeatures = _driverFeaturesSel == 0
                    ? (_driverFeatures & 0xffff_ffff_0000_0000) | value
                    : (_driverFeatures & 0xffff_ffff) | ((ulong)value << 32);
                return;
            case MmioRegisters.QueueSel: _queueSel = value; return;
            case MmioRegisters.QueueNotify:
                if (value >= Device.Queues.Count) break;
                if (_queueNotified is { } notify) notify((int)value);
                else ProcessNotification((int)value);
                return;
            case MmioRegisters.InterruptAck:
                Interlocked.And(ref _interruptStatus, ~value);
                return;
            case MmioRegisters.Status:
                // Drivers may offer buffers (and notify) before DRIVER_OK — Linux's balloon primes its
                // statistics queue that way — and the device must not use them before it: look now.
                if (WriteStatus(value)) WakeReadyQueues();
                return;
            case MmioRegisters.ShmSel: return;
            case MmioRegisters.QueueNum or MmioRegisters.QueueReady
                or MmioRegisters.QueueDescLow or MmioRegisters.QueueDescHigh
                or MmioRegisters.QueueDriverLow or MmioRegisters.QueueDriverHigh
                or MmioRegisters.QueueDeviceLow or MmioRegisters.QueueDeviceHigh:
                if (WriteQueueRegister(register, value)) return;
                break;
        }
        Interlocked.Increment(ref _badAccesses);
    }

    /// <summary>Queue layout can change only while the selected queue is not ready and the device is not running.</summary>
    private bool WriteQueueRegister(uint register, uint value)
    {
        if (SelectedQueue is not { } q || Status.HasFlag(DeviceStatus.DriverOk)) return false;
        if (q.Ready && register != MmioRegisters.QueueReady) return false;
        switch (register)
        {
            case MmioRegisters.QueueNum: q.Size = (ushort)Math.Min(value, ushort.MaxValue); break;
            case MmioRegisters.QueueDescLow: q.DescriptorTable = new GuestAddress(q.DescriptorTable.Value & ~0xffff_ffffUL | value); break;
            case MmioRegisters.QueueDescHigh: q.DescriptorTable = new GuestAddress(q.DescriptorTable.Value & 0xffff_ffff | (ulong)value << 32); break;
            case MmioRegisters.QueueDriverLow: q.AvailRing = new GuestAddress(q.AvailRing.Value & ~0xffff_ffffUL | value); break;
            case MmioRegisters.QueueDriverHigh: q.AvailRing = new GuestAddress(q.AvailRing.Value & 0xffff_ffff | (ulong)value << 32); break;
            case MmioRegisters.QueueDeviceLow: q.UsedRing = new GuestAddress(q.UsedRing.Value & ~0xffff_ffffUL | value); break;
            case MmioRegisters.QueueDeviceHigh: q.UsedRing = new GuestAddress(q.UsedRing.Value & 0xffff_ffff | (ulong)value << 32); break;
            case MmioRegisters.QueueReady:
                if (value == 0) return true;      // un-readying a single queue needs a reset in version 2
                q.EventIndex = VirtioFeatures.Has(_driverFeatures, VirtioFeatures.RingEventIndex);
                q.IndirectDescriptors = VirtioFeatures.Has(_driverFeatures, VirtioFeatures.RingIndirectDescriptors);
                if (q.TryMakeReady(_memory) is { } problem)
                {
                    LastQueueProblem = $"queue {_queueSel}: {problem}";
                    NeedsReset();
                }
                break;
        }
        return true;
    }

    /// <summary>Applies a status write; true when it activated the device.</summary>
    private bool WriteStatus(uint value)
    {
        lock (_lock)
        {
            if (value == 0)
            {
                Device.Reset();
                _driverFeatures = 0;
                _deviceFeaturesSel = _driverFeaturesSel = _queueSel = 0;
                Volatile.Write(ref _interruptStatus, 0);
                Volatile.Write(ref _status, 0);
                return false;
            }
            var current = Status;
            var requested = (DeviceStatus)value;
            // Bits only accumulate until a reset (FAILED may come at any time).
            if ((current & ~requested & ~DeviceStatus.DeviceNeedsReset) != 0)
            {
                Interlocked.Increment(ref _badAccesses);
                return false;
            }
            if (requested.HasFlag(DeviceStatus.FeaturesOk) && !current.HasFlag(DeviceStatus.FeaturesOk))
            {
                // The driver may only take what was offered, and must speak virtio 1.
                bool acceptable = (_driverFeatures & ~OfferedFeatures) == 0 && VirtioFeatures.Has(_driverFeatures, VirtioFeatures.Version1);
                if (!acceptable) requested &= ~DeviceStatus.FeaturesOk;
            }
            if (requested.HasFlag(DeviceStatus.DriverOk) && !current.HasFlag(DeviceStatus.DriverOk))
            {
                // Queues the driver left unset stay idle (it need not use them all); a broken queue set-up needs a reset.
                if (!requested.HasFlag(DeviceStatus.FeaturesOk) || current.HasFlag(DeviceStatus.DeviceNeedsReset))
                {
                    Interlocked.Increment(ref _badAccesses);
                    return false;
                }
                Volatile.Write(ref _status, (uint)(requested | (current & DeviceStatus.DeviceNeedsReset)));
                Device.Activate(_memory, this, _driverFeatures);
                return true;
            }
            Volatile.Write(ref _status, (uint)(requested | (current & DeviceStatus.DeviceNeedsReset)));
            return false;
        }
    }

    private void WakeReadyQueues()
    {
        for (int q = 0; q < Device.Queues.Count; q++)
        {
            if (!Device.Queues[q].Ready) continue;
            if (_queueNotified is { } wake) wake(q);
            else ProcessNotification(q);
        }
    }

    /// <summary>The transport, its queues and the device's own state, for live migration. Take it with the VM
    /// paused (no register writes) and the device's I/O thread idle.</summary>
    public VirtioMmioState SaveState()
    {
        lock (_lock)
        {
            if (Device.IsActive) Device.Quiesce();
            return new VirtioMmioState(Device.Type, Volatile.Read(ref _status), _driverFeatures, _deviceFeaturesSel, _driverFeaturesSel, _queueSel,
                InterruptStatus, Volatile.Read(ref _configGeneration), [.. Device.Queues.Select(q => q.SaveState())],
                Device.IsActive ? Device.SaveDeviceState() : []);
        }
    }

    /// <summary>
    /// Puts a saved device into this (fresh) one on the migration target: registers, queues, features, and a
    /// running device re-activated with its own state. A pending interrupt is raised again and every ready
    /// queue looked at, in case the guest queued work during the switch-over.
    /// </summary>
    public void RestoreState(VirtioMmioState state)
    {
        if (state.DeviceType != Device.Type || state.Queues.Count != Device.Queues.Count)
            throw new ArgumentException($"saved {state.DeviceType} device with {state.Queues.Count} queues does not fit this {Device.Type} device with {Device.Queues.Count}");
        if ((state.DriverFeatures & ~OfferedFeatures) != 0)
            throw new ArgumentException($"the saved {state.DeviceType} device negotiated features 0x{state.DriverFeatures:x} this one does not offer (0x{OfferedFeatures:x})");
        lock (_lock)
        {
            Device.Reset();
            _driverFeatures = state.DriverFeatures;
            _deviceFeaturesSel = state.DeviceFeaturesSelect;
            _driverFeaturesSel = state.DriverFeaturesSelect;
            _queueSel = state.QueueSelect;
            Volatile.Write(ref _configGeneration, state.ConfigGeneration);
            Volatile.Write(ref _interruptStatus, state.InterruptStatus);
            for (int q = 0; q < state.Queues.Count; q++) Device.Queues[q].RestoreState(state.Queues[q], _memory);
            Volatile.Write(ref _status, state.Status);
            var status = (DeviceStatus)state.Status;
            if (status.HasFlag(DeviceStatus.DriverOk) && !status.HasFlag(DeviceStatus.DeviceNeedsReset))
            {
                Device.Activate(_memory, this, _driverFeatures);
                Device.RestoreDeviceState(state.Device);
            }
        }
        if (state.InterruptStatus != 0) _line.Trigger();
        if (Device.IsActive) WakeReadyQueues();
    }

    /// <summary>Runs the device on a notified queue (from its I/O thread), unless it is not running.</summary>
    public void ProcessNotification(int queue)
    {
        lock (_lock)
        {
            if (!Device.IsActive || queue >= Device.Queues.Count || !Device.Queues[queue].Ready) return;
            Device.ProcessQueue(queue);
        }
    }

    /// <summary>Runs the device on a ready backend descriptor (from its I/O thread), unless it is not running.</summary>
    public void ProcessBackend(int index)
    {
        lock (_lock)
        {
            if (Device.IsActive) Device.OnBackendReady(index);
        }
    }

    /// <summary>Waits for the device's host work in flight and completes it to the driver (see <see cref="VirtioDevice.Quiesce"/>).</summary>
    public void Quiesce() => RunExclusive(device => device.Quiesce());

    /// <summary>Runs host-side work on the device (e.g. asking the balloon for statistics) under the same lock as queue work.</summary>
    public void RunExclusive(Action<VirtioDevice> work)
    {
        lock (_lock)
        {
            if (Device.IsActive) work(Device);
        }
    }

    public void SignalUsedBuffers()
    {
        Interlocked.Or(ref _interruptStatus, MmioRegisters.InterruptUsedBuffer);
        _line.Trigger();
    }

    public void SignalConfigChange()
    {
        Interlocked.Increment(ref _configGeneration);
        Interlocked.Or(ref _interruptStatus, MmioRegisters.InterruptConfigChange);
        _line.Trigger();
    }

    /// <summary>The driver broke the protocol in a way the device cannot recover from without a reset.</summary>
    private void NeedsReset()
    {
        Interlocked.Or(ref _status, (uint)DeviceStatus.DeviceNeedsReset);
        if (Status.HasFlag(DeviceStatus.DriverOk)) SignalConfigChange();
    }
}
