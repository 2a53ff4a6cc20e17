using System.Runtime.InteropServices;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Virtio;

/// <summary>Reads a chain's device-readable bytes in order, across buffer boundaries.</summary>
public struct ChainReader(IGuestMemory memory, DescriptorChain chain)
{
    private int _buffer;
    private uint _offset;

    /// <summary>Readable bytes not yet consumed.</summary>
    public uint Remaining { get; private set; } = chain.ReadableLength;

    /// <summary>Copies exactly <paramref name="destination"/>.Length bytes; false (nothing consumed) if fewer remain.</summary>
    public bool TryRead(Span<byte> destination)
    {
        if ((uint)destination.Length > Remaining) return false;
        while (!destination.IsEmpty)
        {
            var b = chain.Buffers[_buffer];
            int n = (int)Math.Min((uint)destination.Length, b.Length - _offset);
            memory.GetReadOnlySpan(b.Address.Add(_offset), n).CopyTo(destination);
            destination = destination[n..];
            Advance((uint)n);
        }
        return true;
    }

    public bool TryRead<T>(out T value) where T : unmanaged
    {
        value = default;
        return TryRead(MemoryMarshal.AsBytes(new Span<T>(ref value)));
    }

    /// <summary>Takes the next <paramref name="count"/> readable bytes as zero-copy segments.</summary>
    public bool TryTakeSegments(uint count, List<ReadOnlyMemory<byte>> segments)
    {
        if (count > Remaining) return false;
        while (count > 0)
        {
            var (start, n) = chain.ContiguousRun(_buffer, _offset, count);
            memory.AddReadableSegments(start, (int)n, segments);
            Skip(n);
            count -= n;
        }
        return true;
    }

    /// <summary>Moves the cursor <paramref name="count"/> readable bytes on, across buffers (count ≤ <see cref="Remaining"/>).</summary>
    private void Skip(uint count)
    {
        while (count > 0)
        {
            uint n = Math.Min(count, chain.Buffers[_buffer].Length - _offset);
            Advance(n);
            count -= n;
        }
    }

    private void Advance(uint n)
    {
        _offset += n;
        Remaining -= n;
        if (_offset == chain.Buffers[_buffer].Length)
        {
            _buffer++;
            _offset = 0;
        }
    }
}
