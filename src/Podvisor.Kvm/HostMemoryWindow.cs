using System.Buffers;

namespace Podvisor.Kvm;

/// <summary>
/// Up to 1 GiB of a <see cref="HostMemory"/> mapping as <see cref="Memory{T}"/>, so guest buffers can be
/// handed to scatter/gather I/O (preadv/pwritev through <see cref="RandomAccess"/>) without copying.
/// Valid while the mapping is; the mapping outlives every I/O the VMM issues into it.
/// </summary>
internal sealed unsafe class HostMemoryWindow : MemoryManager<byte>
{
    private readonly int _length;

    public HostMemoryWindow(byte* start, int length)
    {
        Start = start;
        _length = length;
        Whole = Memory;       // made once: MemoryManager.Memory builds a new one (through GetSpan) on every call
    }

    /// <summary>The window's first byte; it never moves (scatter/gather I/O may take addresses without pinning).</summary>
    public byte* Start { get; }

    /// <summary>The whole window as <see cref="Memory{T}"/>.</summary>
    public Memory<byte> Whole { get; }

    public override Span<byte> GetSpan() => new(Start, _length);

    // SAFETY: the mapping is never moved; pinning is a no-op.
    public override MemoryHandle Pin(int elementIndex = 0) => new(Start + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
