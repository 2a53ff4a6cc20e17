namespace Podvisor.Vmm.Memory;

/// <summary>
/// A run of guest RAM: guest-physical [Start, Start+Size), backed by the host mapping from HostOffset. Page
/// numbers in the VMM's dirty bitmaps are host-offset pages, i.e. the regions' pages laid end to end.
/// </summary>
public readonly record struct GuestRegion(GuestAddress Start, ulong Size, ulong HostOffset)
{
    public ulong End => Start.Value + Size;

    public bool Contains(ulong address) => address >= Start.Value && address < End;

    /// <summary>Whether all of [address, address+length) lies in this region (written so that nothing overflows).</summary>
    public bool Contains(ulong address, ulong length) => address >= Start.Value && address <= End && length <= End - address;
}
