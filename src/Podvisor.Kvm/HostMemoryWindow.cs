using System.Buffers;

namespace Podvisor.Kvm;

/// <summary>
/// Up to 1 GiB of a <see cref="HostMemory"/> mapping as <see cref="Memory{T}"/>, so guest buffers can be
/// handed to scatter/gather I/O (preadv/pwritev through <see cref="RandomAccess"/>) without copying.
/// Valid while the mapping is; the mapping outlives every I/O the VMM issues into it.
/// </summary>
internal sealed unsafe class HostMemoryWindow(byte* start, int length) : MemoryManager<byte>
{
    public override Span<byte> GetSpan() => new(start, length);

    // SAFETY: the mapping is never moved; pinning is a no-op.
    public override MemoryHandle Pin(int elementIndex = 0) => new(start + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
