using System.Runtime.InteropServices;

namespace Podvisor.Vmm.Devices.Virtio.Block;

/// <summary>One range of a DISCARD request (virtio 1.2 §5.2.6: sector, sector count, flags).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public readonly record struct DiscardSegment(ulong Sector, uint SectorCount, uint Flags);
