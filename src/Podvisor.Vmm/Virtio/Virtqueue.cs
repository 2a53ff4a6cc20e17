using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Virtio;

/// <summary>
/// The device side of a split virtqueue (virtio 1.2 §2.7). The driver fills the descriptor table and the
/// available ring; the device pops chains, returns them through the used ring and, with event index,
/// interrupts only when the driver asked to be woken. Nothing the guest writes can take it outside guest
/// RAM or into a loop: bad entries are refused and counted in <see cref="Errors"/>.
/// </summary>
public sealed class Virtqueue
{
    private const ushort AvailFlagNoInterrupt = 1;

    private IGuestMemory? _memory;
    private ushort _nextAvail, _nextUsed, _signalledUsed;
    private bool _signalledUsedValid, _broken, _refusedSinceCheckpoint;

    public Virtqueue(ushort maxSize)
    {
        if (maxSize == 0 || (maxSize & (maxSize - 1)) != 0) throw new ArgumentException($"queue size must be a power of two, got {maxSize}");
        MaxSize = maxSize;
        Size = maxSize;
    }

    public ushort MaxSize { get; }

    /// <summary>The size the driver chose (QueueNum); a power of two no larger than <see cref="MaxSize"/>.</summary>
    public ushort Size { get; set; }

    public bool Ready { get; private set; }

    public GuestAddress DescriptorTable { get; set; }
    public GuestAddress AvailRing { get; set; }
    public GuestAddress UsedRing { get; set; }

    /// <summary>Negotiated VIRTIO_F_RING_EVENT_IDX.</summary>
    public bool EventIndex { get; set; }

    /// <summary>Negotiated VIRTIO_F_INDIRECT_DESC.</summary>
    public bool IndirectDescriptors { get; set; }

    public QueueErrorCounters Errors { get; } = new();

    /// <summary>Chains popped (well formed or not) since the queue was made ready.</summary>
    public long Popped { get; private set; }

    /// <summary>
    /// Makes the queue live over <paramref name="memory"/> after checking the driver's layout: size a power of
    /// two within the maximum, each ring aligned and inside guest RAM. Returns why not, or null.
    /// </summary>
    public string? TryMakeReady(IGuestMemory memory)
    {
        if (Size == 0 || Size > MaxSize || (Size & (Size - 1)) != 0) return $"queue size {Size} is not a power of two up to {MaxSize}";
        ulong descBytes = (ulong)Size * Descriptor.Size, availBytes = 6 + 2UL * Size, usedBytes = 6 + 8UL * Size;
        if (DescriptorTable.Value % 16 != 0 || AvailRing.Value % 2 != 0 || UsedRing.Value % 4 != 0) return "a ring is misaligned";
        foreach (var (address, length, name) in new[] { (DescriptorTable, descBytes, "descriptor table"), (AvailRing, availBytes, "available ring"), (UsedRing, usedBytes, "used ring") })
        {
            try
            {
                memory.GetReadOnlySpan(address, (int)length);
            }
            catch (GuestMemoryException)
            {
                return $"the {name} at {address} (+0x{length:x}) is outside guest RAM";
            }
        }
        _memory = memory;
        Ready = true;
        return null;
    }

    /// <summary>Back to the state after device reset (the driver must set the queue up again).</summary>
    public void Reset()
    {
        Ready = false;
        _memory = null;
        Size = MaxSize;
        DescriptorTable = AvailRing = UsedRing = default;
        EventIndex = IndirectDescriptors = false;
        _nextAvail = _nextUsed = _signalledUsed = 0;
        _signalledUsedValid = _broken = false;
    }

    private IGuestMemory Memory => _memory ?? throw new InvalidOperationException("the queue is not ready");

    /// <summary>
    /// Takes the next well-formed chain. Malformed ones are counted and handed straight back to the driver
    /// (used length 0) so it can reclaim them; false when nothing (more) is available.
    /// </summary>
    public bool TryPop(out DescriptorChain chain)
    {
        chain = null!;
        if (!Ready || _broken) return false;
        var memory = Memory;
        while (true)
        {
            ushort availIdx = ReadAvailIndex(memory);
            if (availIdx == _nextAvail)
            {
                if (!EventIndex) return false;
                // Ask to be notified for the next entry, then look again: the driver may have added one
                // before it could see our request.
                WriteU16(memory, UsedRing.Add(4 + 8UL * Size), _nextAvail);
                Interlocked.MemoryBarrier();
                if (ReadAvailIndex(memory) == _nextAvail) return false;
                continue;
            }
            if ((ushort)(availIdx - _nextAvail) > Size)
            {
                // The driver claims more entries than the ring holds: nothing in it can be trusted.
                Errors.Count(ChainError.AvailIndexJump);
                _broken = true;
                return false;
            }
            ushort head = ReadU16(memory, AvailRing.Add(4 + 2UL * (ushort)(_nextAvail % Size)));
            _nextAvail++;
            Popped++;
            if (DescriptorChain.TryParse(memory, DescriptorTable, Size, head, IndirectDescriptors, out var parsed, out var error))
            {
                chain = parsed!;
                return true;
            }
            Errors.Count(error);
            if (head < Size)
            {
                AddUsed(head, 0);
                _refusedSinceCheckpoint = true;
            }
        }
    }

    /// <summary>Marks the current position for <see cref="TryRollback"/>.</summary>
    public ushort Checkpoint()
    {
        _refusedSinceCheckpoint = false;
        return _nextAvail;
    }

    /// <summary>
    /// Gives back every chain popped since <paramref name="checkpoint"/> (none of them used yet): a device that
    /// needs several buffers for one item (a received frame) and found too few waits for more. Refused when a
    /// malformed chain was returned to the driver in between (it must not be returned twice); the caller
    /// then completes what it popped instead.
    /// </summary>
    public bool TryRollback(ushort checkpoint)
    {
        if (_refusedSinceCheckpoint) return false;
        _nextAvail = checkpoint;
        return true;
    }

    /// <summary>The device's used index: how many chains it has handed back (chains <see cref="TryPop"/> refused included).</summary>
    public ushort UsedIndex => _nextUsed;

    /// <summary>Puts a finished chain in the used ring with the number of bytes the device wrote.</summary>
    public void AddUsed(ushort head, uint writtenLength)
    {
        var memory = Memory;
        var element = UsedRing.Add(4 + 8UL * (ushort)(_nextUsed % Size));
        var span = memory.GetSpan(element, 8);
        MemoryMarshal.Write(span, head);
        MemoryMarshal.Write(span[2..], (ushort)0);
        MemoryMarshal.Write(span[4..], writtenLength);
        _nextUsed++;
        // The element must be visible before the index that publishes it.
        Volatile.Write(ref Unsafe.As<byte, ushort>(ref MemoryMarshal.GetReference(memory.GetSpan(UsedRing.Add(2), 2))), _nextUsed);
    }

    /// <summary>Refuses a chain the device could not make sense of: counted, and returned with nothing written.</summary>
    public void Refuse(DescriptorChain chain, ChainError error)
    {
        Errors.Count(error);
        AddUsed(chain.HeadIndex, 0);
        _refusedSinceCheckpoint = true;
    }

    /// <summary>
    /// Whether the driver wants an interrupt for the used entries added since the last one: with event index,
    /// when the used index passed the driver's used_event; otherwise unless it set NO_INTERRUPT.
    /// </summary>
    public bool ShouldInterrupt()
    {
        if (!Ready) return false;
        var memory = Memory;
        // Our used-index store must be visible before we read the driver's wishes (store → load).
        Interlocked.MemoryBarrier();
        if (!EventIndex) return (ReadU16(memory, AvailRing) & AvailFlagNoInterrupt) == 0;
        ushort old = _signalledUsed, now = _nextUsed;
        bool wasValid = _signalledUsedValid;
        _signalledUsed = now;
        _signalledUsedValid = true;
        if (!wasValid) return true;
        ushort usedEvent = ReadU16(memory, AvailRing.Add(4 + 2UL * Size));
        // vring_need_event: did the used index step over used_event + 1 since the last interrupt?
        return (ushort)(now - usedEvent - 1) < (ushort)(now - old);
    }

    public VirtqueueState SaveState() => new(Size, Ready, DescriptorTable.Value, AvailRing.Value, UsedRing.Value,
        _nextAvail, _nextUsed, _signalledUsed, _signalledUsedValid, EventIndex, IndirectDescriptors);

    /// <summary>Restores a saved queue over this VM's memory (the rings themselves travel with guest RAM).</summary>
    public void RestoreState(VirtqueueState state, IGuestMemory memory)
    {
        Reset();
        Size = state.Size;
        DescriptorTable = new GuestAddress(state.DescriptorTable);
        AvailRing = new GuestAddress(state.AvailRing);
        UsedRing = new GuestAddress(state.UsedRing);
        _nextAvail = state.NextAvail;
        _nextUsed = state.NextUsed;
        _signalledUsed = state.SignalledUsed;
        _signalledUsedValid = state.SignalledUsedValid;
        EventIndex = state.EventIndex;
        IndirectDescriptors = state.IndirectDescriptors;
        if (state.Ready && TryMakeReady(memory) is { } problem) throw new InvalidOperationException($"saved queue does not fit this VM: {problem}");
    }

    private ushort ReadAvailIndex(IGuestMemory memory) =>
        Volatile.Read(ref Unsafe.As<byte, ushort>(ref MemoryMarshal.GetReference(memory.GetReadOnlySpan(AvailRing.Add(2), 2))));

    private static ushort ReadU16(IGuestMemory memory, GuestAddress address) =>
        MemoryMarshal.Read<ushort>(memory.GetReadOnlySpan(address, 2));

    private static void WriteU16(IGuestMemory memory, GuestAddress address, ushort value) =>
        MemoryMarshal.Write(memory.GetSpan(address, 2), value);
}
