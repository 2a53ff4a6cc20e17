namespace Podvisor.Vmm.Memory;

/// <summary>Bounds-checked access to guest RAM. Devices and loaders see only this, so tests can hand
/// them plain arrays and no guest-supplied address can reach beyond guest RAM.</summary>
public interface IGuestMemory
{
    /// <summary>End of RAM (one past the last byte).</summary>
    GuestAddress End { get; }

    /// <summary>The runs of RAM in guest-physical order (a hole below 4 GiB for MMIO when RAM is large).</summary>
    IReadOnlyList<GuestRegion> Regions { get; }

    /// <summary>A writable view of [address, address+length): throws <see cref="GuestMemoryException"/> if any byte is not RAM.</summary>
    Span<byte> GetSpan(GuestAddress address, int length);

    /// <summary>A read-only view (not counted as written by the VMM).</summary>
    ReadOnlySpan<byte> GetReadOnlySpan(GuestAddress address, int length);
}
