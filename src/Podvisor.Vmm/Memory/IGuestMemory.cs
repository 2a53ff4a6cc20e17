namespace Podvisor.Vmm.Memory;

/// <summary>Bounds-checked access to guest RAM. Devices and loaders see only this, so tests can hand
/// them plain arrays and no guest-supplied address can reach beyond guest RAM.</summary>
public interface IGuestMemory
{
    /// <summary>End of RAM (one past the last byte).</summary>
    GuestAddress End { get; }

    /// <summary>The runs of RAM in guest-physical order (a hole below 4 GiB for MMIO when RAM is large).</summary>
    IReadOnlyList<GuestRegion> Regions { get; }

    /// <summary>Whether [address, address+length) lies inside one region of RAM (no overflow past the top).</summary>
    bool Contains(ulong address, ulong length);

    /// <summary>A writable view of [address, address+length): throws <see cref="GuestMemoryException"/> if any byte is not RAM.</summary>
    Span<byte> GetSpan(GuestAddress address, int length);

    /// <summary>A read-only view (not counted as written by the VMM).</summary>
    ReadOnlySpan<byte> GetReadOnlySpan(GuestAddress address, int length);

    /// <summary>Appends [address, address+length) to <paramref name="segments"/> as zero-copy memory for
    /// scatter/gather I/O into guest RAM (split where the host mapping needs it); counted as written by the VMM.</summary>
    void AddWritableSegments(GuestAddress address, int length, List<Memory<byte>> segments);

    /// <summary>Like <see cref="AddWritableSegments"/> for I/O out of guest RAM (not counted as written).</summary>
    void AddReadableSegments(GuestAddress address, int length, List<ReadOnlyMemory<byte>> segments);

    /// <summary>
    /// Hands the pages of [address, address+length) back to the host (the balloon, free page reporting); they
    /// read as zero afterwards. False when the backing cannot give back single pages (hugetlbfs).
    /// Throws <see cref="GuestMemoryException"/> if the range is not page-aligned RAM.
    /// </summary>
    bool Discard(GuestAddress address, ulong length);
}
