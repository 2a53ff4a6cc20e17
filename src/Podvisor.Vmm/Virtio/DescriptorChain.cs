using System.Runtime.InteropServices;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Virtio;

/// <summary>
/// A request the driver offered: the head descriptor's index (which goes back in the used ring) and its
/// buffers, device-readable ones first. Parsing checks everything a hostile guest controls — indices,
/// loops, lengths, addresses, indirect tables — so a device only ever sees buffers inside guest RAM.
/// </summary>
public sealed class DescriptorChain
{
    /// <summary>The most descriptors an indirect table may hold (the spec's limit is the queue size; 64 Ki
    /// is the largest queue and keeps a hostile table from costing more than the ring itself could).</summary>
    public const int MaxIndirectDescriptors = 32768;

    private readonly GuestBuffer[] _buffers;

    private DescriptorChain(ushort headIndex, GuestBuffer[] buffers)
    {
        HeadIndex = headIndex;
        _buffers = buffers;
        foreach (var b in buffers)
        {
            if (b.IsWritable) WritableLength += b.Length;
            else ReadableLength += b.Length;
        }
    }

    public ushort HeadIndex { get; }

    /// <summary>The buffers in chain order (a span: the cursors walk it once per buffer, without interface calls).</summary>
    public ReadOnlySpan<GuestBuffer> Buffers => _buffers;

    /// <summary>Bytes the device may read (the request).</summary>
    public uint ReadableLength { get; }

    /// <summary>Bytes the device may write (the reply).</summary>
    public uint WritableLength { get; }

    /// <summary>Longest zero-copy segment handed out at once: guest RAM is mapped in 1 GiB windows anyway.</summary>
    public const uint MaxRun = 1u << 30;

    /// <summary>
    /// The bytes from <paramref name="offset"/> in buffer <paramref name="buffer"/> onwards that are contiguous in guest
    /// memory, at most <paramref name="max"/> (and <see cref="MaxRun"/>): buffers that follow each other in guest-physical
    /// memory (often: a guest's pages are frequently contiguous) become one run, so one host segment instead of many.
    /// </summary>
    public (GuestAddress Start, uint Length) ContiguousRun(int buffer, uint offset, uint max)
    {
        max = Math.Min(max, MaxRun);
        var buffers = _buffers;
        var first = buffers[buffer];
        ulong start = first.Address.Value + offset;
        uint length = Math.Min(max, first.Length - offset);
        while (length < max && ++buffer < buffers.Length && buffers[buffer].Address.Value == start + length)
            length += Math.Min(max - length, buffers[buffer].Length);
        return (new GuestAddress(start), length);
    }

    /// <summary>Parses the chain starting at <paramref name="head"/> of a descriptor table of <paramref name="queueSize"/> entries.</summary>
    public static bool TryParse(IGuestMemory memory, GuestAddress table, ushort queueSize, ushort head, bool indirectAllowed,
        out DescriptorChain? chain, out ChainError error)
    {
        chain = null;
        if (head >= queueSize)
        {
            error = ChainError.HeadOutOfRange;
            return false;
        }
        // Collected in a per-thread scratch array, then copied once at their exact count: a 1 MiB block request
        // has 258 buffers, which a growing list would have reallocated seven times. The scratch grows to the longest
        // chain a thread has seen, at most MaxIndirectDescriptors (512 KiB).
        var buffers = t_scratch ??= new GuestBuffer[16];
        int count = 0;
        ReadOnlySpan<byte> indirectTable = default;
        GuestAddress currentTable = table;
        int tableSize = queueSize, visited = 0;
        bool inIndirect = false, seenWritable = false;
        ulong total = 0;
        ushort index = head;
        while (true)
        {
            if (++visited > tableSize)
            {
                error = ChainError.ChainTooLong;
                return false;
            }
            Descriptor d;
            if (inIndirect)
            {
                // The whole table was checked to lie in RAM: read from it directly (a copy, as the guest may change it).
                d = MemoryMarshal.Read<Descriptor>(indirectTable.Slice(index * (int)Descriptor.Size, (int)Descriptor.Size));
            }
            else
            {
                try
                {
                    d = memory.ReadValue<Descriptor>(currentTable.Add((ulong)index * Descriptor.Size));
                }
                catch (GuestMemoryException)
                {
                    error = ChainError.DescriptorOutOfRange;
                    return false;
                }
            }
            if (d.IsIndirect)
            {
                if (inIndirect) { error = ChainError.NestedIndirect; return false; }
                if (d.HasNext) { error = ChainError.IndirectWithNext; return false; }
                if (!indirectAllowed) { error = ChainError.IndirectNotNegotiated; return false; }
                if (d.Length == 0 || d.Length % Descriptor.Size != 0 || d.Length / Descriptor.Size > MaxIndirectDescriptors)
                {
                    error = ChainError.BadIndirectLength;
                    return false;
                }
                if (!memory.Contains(d.Address, d.Length)) { error = ChainError.DescriptorOutOfRange; return false; }
                // The table replaces the rest of the chain (an indirect descriptor is alone or last).
                currentTable = new GuestAddress(d.Address);
                tableSize = (int)(d.Length / Descriptor.Size);
                indirectTable = memory.GetReadOnlySpan(currentTable, (int)d.Length);
                inIndirect = true;
                visited = 0;
                index = 0;
                continue;
            }
            if (d.Length == 0) { error = ChainError.ZeroLengthBuffer; return false; }
            // Spans are int-sized: a longer buffer is as unusable as one outside RAM.
            if (d.Length > int.MaxValue || !memory.Contains(d.Address, d.Length)) { error = ChainError.BufferOutOfRange; return false; }
            if (d.IsWriteOnly) seenWritable = true;
            else if (seenWritable) { error = ChainError.ReadableAfterWritable; return false; }
            total += d.Length;
            if (total > uint.MaxValue) { error = ChainError.ChainTooLarge; return false; }
            if (count == buffers.Length) t_scratch = buffers = GrowScratch(buffers);
            buffers[count++] = new GuestBuffer(new GuestAddress(d.Address), d.Length, d.IsWriteOnly);
            if (!d.HasNext) break;
            if (d.Next >= tableSize) { error = ChainError.NextOutOfRange; return false; }
            index = d.Next;
        }
        chain = new DescriptorChain(head, buffers.AsSpan(0, count).ToArray());
        error = default;
        return true;
    }

    [ThreadStatic] private static GuestBuffer[]? t_scratch;

    private static GuestBuffer[] GrowScratch(GuestBuffer[] scratch)
    {
        var grown = new GuestBuffer[scratch.Length * 2];
        scratch.CopyTo(grown, 0);
        return grown;
    }

    /// <summary>A cursor over the readable buffers.</summary>
    public ChainReader Reader(IGuestMemory memory) => new(memory, this);

    /// <summary>A cursor over the writable buffers.</summary>
    public ChainWriter Writer(IGuestMemory memory) => new(memory, this);
}
