using System.Runtime.InteropServices;

namespace Podvisor.Vmm.Virtio;

/// <summary>A split-virtqueue descriptor as it lies in guest memory (virtio 1.2 §2.7.5), 16 bytes.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public readonly record struct Descriptor(ulong Address, uint Length, ushort Flags, ushort Next)
{
    public const int Size = 16;
    public const ushort FlagNext = 1, FlagWrite = 2, FlagIndirect = 4;

    public bool HasNext => (Flags & FlagNext) != 0;
    public bool IsWriteOnly => (Flags & FlagWrite) != 0;
    public bool IsIndirect => (Flags & FlagIndirect) != 0;
}
