using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Virtio;

/// <summary>
/// A virtio device as a state machine: its queues, feature bits and configuration space, and what it does
/// with chains the driver offers. It knows nothing of the transport (MMIO here) or of threads: the
/// transport activates and resets it and calls <see cref="ProcessQueue"/> when a queue is notified.
/// </summary>
public abstract class VirtioDevice
{
    private readonly Virtqueue[] _queues;
    private IGuestMemory? _memory;
    private IVirtioInterrupt? _interrupt;

    protected VirtioDevice(params ushort[] queueMaxSizes)
    {
        _queues = [.. queueMaxSizes.Select(size => new Virtqueue(size))];
    }

    public abstract VirtioDeviceType Type { get; }

    /// <summary>Device-specific feature bits offered (the transport adds <see cref="VirtioFeatures.Common"/>).</summary>
    public abstract ulong Features { get; }

    public IReadOnlyList<Virtqueue> Queues => _queues;

    /// <summary>The features the driver accepted; valid once active.</summary>
    public ulong AckedFeatures { get; private set; }

    public bool IsActive { get; private set; }

    /// <summary>Malformed or unexpected chains over all queues.</summary>
    public long RefusedChains => _queues.Sum(q => q.Errors.Total);

    protected IGuestMemory Memory => _memory ?? throw new InvalidOperationException($"{Type} device is not active");

    protected IVirtioInterrupt Interrupt => _interrupt ?? throw new InvalidOperationException($"{Type} device is not active");

    /// <summary>The configuration space's current bytes (device-specific layout).</summary>
    protected abstract ReadOnlySpan<byte> ConfigSpace { get; }

    /// <summary>Reads configuration space; bytes beyond it read as zero.</summary>
    public void ReadConfig(uint offset, Span<byte> data)
    {
        data.Clear();
        var config = ConfigSpace;
        if (offset < config.Length) config[(int)offset..Math.Min(config.Length, (int)offset + data.Length)].CopyTo(data);
    }

    /// <summary>A driver write to configuration space; most devices have nothing writable there.</summary>
    public virtual void WriteConfig(uint offset, ReadOnlySpan<byte> data)
    {
    }

    /// <summary>The driver set DRIVER_OK: queues are ready, features final.</summary>
    public void Activate(IGuestMemory memory, IVirtioInterrupt interrupt, ulong ackedFeatures)
    {
        _memory = memory;
        _interrupt = interrupt;
        AckedFeatures = ackedFeatures;
        IsActive = true;
        OnActivate();
    }

    /// <summary>The driver wrote 0 to the status: forget the queues and anything in flight.</summary>
    public void Reset()
    {
        if (IsActive) OnReset();
        IsActive = false;
        AckedFeatures = 0;
        foreach (var q in _queues) q.Reset();
        _memory = null;
        _interrupt = null;
    }

    /// <summary>Host descriptors the device's I/O thread also waits on (a tap, a listening socket), edge-triggered:
    /// <see cref="OnBackendReady"/> must drain what it can.</summary>
    public virtual IReadOnlyList<System.Runtime.InteropServices.SafeHandle> BackendHandles => [];

    /// <summary>Backend descriptor <paramref name="index"/> became readable (called only while active).</summary>
    public virtual void OnBackendReady(int index)
    {
    }

    /// <summary>Finishes host work still in flight (a disk read the kernel has not completed) and answers the
    /// driver for it, so the device's state is whole: before a pause is reported done, before state is saved.</summary>
    public virtual void Quiesce()
    {
    }

    /// <summary>The device's own state beyond its queues and configuration registers, for live migration
    /// (empty when it has none). Called with the device quiesced (the VM paused, its I/O thread idle).</summary>
    public virtual byte[] SaveDeviceState() => [];

    /// <summary>Restores <see cref="SaveDeviceState"/>'s bytes into this (already re-activated) device.</summary>
    public virtual void RestoreDeviceState(byte[] state)
    {
    }

    /// <summary>Handles everything available on queue <paramref name="index"/>.</summary>
    public abstract void ProcessQueue(int index);

    protected virtual void OnActivate()
    {
    }

    protected virtual void OnReset()
    {
    }

    /// <summary>
    /// Hands every chain available on <paramref name="queue"/> to <paramref name="serve"/> (which answers each:
    /// used, or refused), then interrupts the driver if the used entries call for it.
    /// </summary>
    protected void ServeAvailable(Virtqueue queue, Action<Virtqueue, DescriptorChain> serve)
    {
        bool used = false;
        ushort handedBack = queue.UsedIndex;
        while (queue.TryPop(out var chain))
        {
            used = true;
            serve(queue, chain);
        }
        // Malformed chains TryPop handed back count too: a batch of nothing else must still tell the driver.
        if (used || queue.UsedIndex != handedBack) SignalUsed(queue);
    }

    /// <summary>Interrupts the driver if the queue's used entries call for it.</summary>
    protected void SignalUsed(Virtqueue queue)
    {
        if (queue.ShouldInterrupt()) Interrupt.SignalUsedBuffers();
    }
}
