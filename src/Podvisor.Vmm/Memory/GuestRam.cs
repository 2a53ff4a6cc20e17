using Podvisor.Kvm;
using Podvisor.Vmm.Boot;

namespace Podvisor.Vmm.Memory;

/// <summary>
/// Guest RAM backed by one anonymous host mapping. Up to the MMIO window (3.25 GiB) it is one region from
/// guest-physical 0; the rest continues at 4 GiB, so devices keep their 32-bit MMIO addresses whatever the
/// RAM size (as on PCs). Each region becomes one KVM memory slot. The VMM's own writes (loader, devices)
/// are tracked page by page, because KVM's dirty log only sees the guest's: live migration ORs the two.
/// </summary>
public sealed class GuestRam : IGuestMemory, IDisposable
{
    public const ulong PageSize = 4096;
    public const ulong HighMemoryStart = 1UL << 32;

    private readonly HostMemory _host;

    /// <param name="hugeTlbPageSize">Back RAM with the host's hugetlbfs pages of this size (2 MiB or 1 GiB)
    /// instead of transparent huge pages.</param>
    public GuestRam(ulong size, ulong lowMemoryLimit = BootLayout.MmioStart, ulong? hugeTlbPageSize = null)
    {
        if (size == 0 || size % PageSize != 0) throw new ArgumentException($"guest memory must be a non-zero multiple of 4 KiB, got {size}", nameof(size));
        _host = hugeTlbPageSize is { } pageSize
            ? HostMemory.WithHugeTlbPages(size, pageSize)
            : new HostMemory(size, transparentHugePages: true);
        VmmDirty = new DirtyBitmap(size / PageSize);
        ulong low = Math.Min(size, lowMemoryLimit);
        _regions = size > low
            ? [new(new GuestAddress(0), low, 0), new(new GuestAddress(HighMemoryStart), size - low, low)]
            : [new(new GuestAddress(0), low, 0)];
    }

    // An array, walked with for: every descriptor a device reads passes through HostOffset, and a foreach over
    // the IReadOnlyList would allocate an enumerator each time.
    private readonly GuestRegion[] _regions;

    /// <summary>RAM below the MMIO window, then (for large guests) RAM from 4 GiB.</summary>
    public IReadOnlyList<GuestRegion> Regions => _regions;

    /// <summary>One past the highest RAM address.</summary>
    public GuestAddress End => new(Regions[^1].End);

    /// <summary>End of the RAM below 4 GiB: where 32-bit boot structures (initrd) must stay.</summary>
    public GuestAddress LowEnd => new(Regions[0].End);

    public ulong Size => _host.Size;

    public HostMemory Host => _host;

    /// <summary>Pages the VMM wrote through <see cref="GetSpan"/> since the last <see cref="TakeVmmDirty"/>.</summary>
    public DirtyBitmap VmmDirty { get; }

    public ReadOnlySpan<byte> GetReadOnlySpan(GuestAddress address, int length) =>
        _host.GetSpan(HostOffset(address, length), length);

    public Span<byte> GetSpan(GuestAddress address, int length)
    {
        ulong offset = HostOffset(address, length);
        MarkWritten(offset, length);        // spans are writable
        return _host.GetSpan(offset, length);
    }

    public void AddWritableSegments(GuestAddress address, int length, List<Memory<byte>> segments)
    {
        ulong offset = HostOffset(address, length);
        MarkWritten(offset, length);
        // Split where the host mapping's 1 GiB windows end (a loop, not an iterator: one per guest buffer).
        while (length > 0)
        {
            int n = (int)Math.Min((ulong)length, HostMemory.BytesToWindowEnd(offset));
            segments.Add(_host.GetMemory(offset, n));
            offset += (ulong)n;
            length -= n;
        }
    }

    /// <summary>Counts every page of [offset, +length) of the mapping as written by the VMM (migration resends them).</summary>
    private void MarkWritten(ulong offset, int length)
    {
        if (length <= 0) return;
        for (ulong page = offset / PageSize; page <= (offset + (ulong)length - 1) / PageSize; page++) VmmDirty.MarkDirty(page);
    }

    public void AddReadableSegments(GuestAddress address, int length, List<ReadOnlyMemory<byte>> segments)
    {
        ulong offset = HostOffset(address, length);
        while (length > 0)
        {
            int n = (int)Math.Min((ulong)length, HostMemory.BytesToWindowEnd(offset));
            segments.Add(_host.GetMemory(offset, n));
            offset += (ulong)n;
            length -= n;
        }
    }

    public bool Discard(GuestAddress address, ulong length)
    {
        if (address.Value % PageSize != 0 || length % PageSize != 0 || length > int.MaxValue)
            throw new GuestMemoryException(address, length, End);
        ulong offset = HostOffset(address, (int)length);
        if (length == 0) return true;
        if (_host.HugeTlbPageSize != 0) return false;
        _host.Discard(offset, length);
        // The pages changed (to zero): a migration must send them again.
        for (ulong page = offset / PageSize; page < (offset + length) / PageSize; page++) VmmDirty.MarkDirty(page);
        return true;
    }

    /// <summary>Guest RAM the host holds in memory now (pages touched and not given back).</summary>
    public ulong ResidentBytes() => _host.ResidentBytes();

    public bool Contains(ulong address, ulong length)
    {
        foreach (var region in _regions)       // an array: no enumerator, no interface calls (once per descriptor)
        {
            if (region.Contains(address, length)) return true;
        }
        return false;
    }

    /// <summary>Where [address, address+length) lives in the host mapping; it must lie inside one region.</summary>
    private ulong HostOffset(GuestAddress address, int length)
    {
        if (length >= 0)
        {
            foreach (var region in _regions)
            {
                if (region.Contains(address.Value, (ulong)length))
                    return region.HostOffset + (address.Value - region.Start.Value);
            }
        }
        throw new GuestMemoryException(address, (ulong)Math.Max(length, 0), End);
    }

    /// <summary>
    /// The pages the VMM wrote since the last call, clearing them. Word by word with an atomic exchange: a
    /// device thread marking a page meanwhile lands either in what is returned or in the next call, never lost.
    /// </summary>
    public DirtyBitmap TakeVmmDirty()
    {
        var taken = new DirtyBitmap(VmmDirty.PageCount);
        var words = VmmDirty.Words;
        for (int i = 0; i < words.Length; i++)
        {
            if (Volatile.Read(ref words[i]) != 0) taken.Words[i] = Interlocked.Exchange(ref words[i], 0);
        }
        return taken;
    }

    public void Dispose() => _host.Dispose();
}
