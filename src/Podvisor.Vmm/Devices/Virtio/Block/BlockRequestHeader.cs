using System.Runtime.InteropServices;

namespace Podvisor.Vmm.Devices.Virtio.Block;

/// <summary>The 16 device-readable bytes that open every virtio-blk request.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public readonly record struct BlockRequestHeader(uint Type, uint Reserved, ulong Sector);
