using Podvisor.Kvm;

namespace Podvisor.Vmm.Memory;

/// <summary>
/// Guest RAM from guest-physical 0, backed by one anonymous host mapping and installed as KVM slot 0.
/// The VMM's own writes (loader, devices) are tracked page by page, because KVM's dirty log only sees
/// the guest's: live migration ORs the two.
/// </summary>
public sealed class GuestRam : IGuestMemory, IDisposable
{
    public const ulong PageSize = 4096;

    private readonly HostMemory _host;

    public GuestRam(ulong size)
    {
        if (size == 0 || size % PageSize != 0) throw new ArgumentException($"guest memory must be a non-zero multiple of 4 KiB, got {size}", nameof(size));
        _host = new HostMemory(size);
        VmmDirty = new DirtyBitmap(size / PageSize);
    }

    public GuestAddress End => new(_host.Size);

    public ulong Size => _host.Size;

    public HostMemory Host => _host;

    /// <summary>Pages the VMM wrote through <see cref="GetSpan"/> since the last <see cref="TakeVmmDirty"/>.</summary>
    public DirtyBitmap VmmDirty { get; private set; }

    public ReadOnlySpan<byte> GetReadOnlySpan(GuestAddress address, int length)
    {
        CheckRange(address, length);
        return _host.GetSpan(address.Value, length);
    }

    private void CheckRange(GuestAddress address, int length)
    {
        if (length < 0 || address.Value > _host.Size || (ulong)length > _host.Size - address.Value)
            throw new GuestMemoryException(address, (ulong)Math.Max(length, 0), End);
    }

    public Span<byte> GetSpan(GuestAddress address, int length)
    {
        CheckRange(address, length);
        if (length > 0)
        {
            // Spans are writable: count every page they cover as written by the VMM.
            for (ulong page = address.Value / PageSize; page <= (address.Value + (ulong)length - 1) / PageSize; page++)
                VmmDirty.MarkDirty(page);
        }
        return _host.GetSpan(address.Value, length);
    }

    /// <summary>Returns the VMM-dirty bitmap and starts a fresh one.</summary>
    public DirtyBitmap TakeVmmDirty()
    {
        var taken = VmmDirty;
        VmmDirty = new DirtyBitmap(taken.PageCount);
        return taken;
    }

    public void Dispose() => _host.Dispose();
}
