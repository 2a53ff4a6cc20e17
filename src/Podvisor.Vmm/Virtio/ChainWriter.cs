using System.Runtime.InteropServices;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Virtio;

/// <summary>Writes a chain's device-writable bytes in order, across buffer boundaries; counts what was written
/// (the length that goes in the used ring).</summary>
public struct ChainWriter
{
    private readonly IGuestMemory _memory;
    private readonly DescriptorChain _chain;
    private int _buffer;
    private uint _offset;

    public ChainWriter(IGuestMemory memory, DescriptorChain chain)
    {
        _memory = memory;
        _chain = chain;
        Remaining = chain.WritableLength;
        _buffer = chain.Buffers.Length;
        for (int i = 0; i < chain.Buffers.Length; i++)
        {
            if (chain.Buffers[i].IsWritable)
            {
                _buffer = i;
                break;
            }
        }
    }

    public uint Remaining { get; private set; }

    public uint Written { get; private set; }

    /// <summary>Copies all of <paramref name="source"/>; false (nothing written) if it does not fit.</summary>
    public bool TryWrite(ReadOnlySpan<byte> source)
    {
        if ((uint)source.Length > Remaining) return false;
        while (!source.IsEmpty)
        {
            var segment = NextSegment(source.Length);
            source[..segment.Length].CopyTo(segment);
            source = source[segment.Length..];
        }
        return true;
    }

    public bool TryWrite<T>(T value) where T : unmanaged =>
        TryWrite(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    /// <summary>The next run of writable guest memory, at most <paramref name="max"/> bytes (zero-copy), counted as written.</summary>
    public Span<byte> NextSegment(int max)
    {
        if (Remaining == 0 || max <= 0) return [];
        var b = _chain.Buffers[_buffer];
        int n = (int)Math.Min((uint)max, b.Length - _offset);
        var span = _memory.GetSpan(b.Address.Add(_offset), n);
        Advance((uint)n);
        Written += (uint)n;
        return span;
    }

    /// <summary>Takes the next <paramref name="count"/> writable bytes as zero-copy segments (counted as written).</summary>
    public bool TryTakeSegments(uint count, List<Memory<byte>> segments)
    {
        if (count > Remaining) return false;
        while (count > 0)
        {
            var (start, n) = _chain.ContiguousRun(_buffer, _offset, count);
            _memory.AddWritableSegments(start, (int)n, segments);
            TrySkip(n);
            Written += n;
            count -= n;
        }
        return true;
    }

    /// <summary>Skips <paramref name="count"/> writable bytes (left as they are) so a trailing field can be reached.</summary>
    public bool TrySkip(uint count)
    {
        if (count > Remaining) return false;
        while (count > 0)
        {
            var b = _chain.Buffers[_buffer];
            uint n = Math.Min(count, b.Length - _offset);
            Advance(n);
            count -= n;
        }
        return true;
    }

    /// <summary>Moves the cursor <paramref name="n"/> bytes on within the current buffer (to the next at its end).</summary>
    private void Advance(uint n)
    {
        _offset += n;
        Remaining -= n;
        if (_offset == _chain.Buffers[_buffer].Length)
        {
            _buffer++;
            _offset = 0;
        }
    }
}
