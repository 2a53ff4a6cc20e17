using Podvisor.Kvm.Abi;

namespace Podvisor.Vmm.Boot;

/// <summary>x86 segment descriptors: packing one for a GDT, and the matching KVM segment register.</summary>
public static class GdtDescriptor
{
    /// <param name="flags">Access byte in bits 0–7 and the flags nibble (G, D/B, L, AVL) in bits 12–15.</param>
    public static ulong Build(ushort flags, uint baseAddress, uint limit) =>
        ((ulong)(baseAddress & 0xff000000) << (56 - 24)) | ((ulong)(flags & 0x0000f0ff) << 40)
        | ((ulong)(limit & 0x000f0000) << (48 - 16)) | ((ulong)(baseAddress & 0x00ffffff) << 16) | (limit & 0x0000ffff);

    public static KvmSegment ToSegment(ushort selector, ulong descriptor)
    {
        uint limit = (uint)(((descriptor >> 32) & 0xf0000) | (descriptor & 0xffff));
        bool pageGranular = ((descriptor >> 55) & 1) != 0;
        return new KvmSegment
        {
            Base = ((descriptor >> 16) & 0xffffff) | ((descriptor >> 32) & 0xff000000),
            Limit = pageGranular ? (limit << 12) | 0xfff : limit,
            Selector = selector,
            Type = (byte)((descriptor >> 40) & 0xf),
            S = (byte)((descriptor >> 44) & 1),
            Dpl = (byte)((descriptor >> 45) & 3),
            Present = (byte)((descriptor >> 47) & 1),
            Avl = (byte)((descriptor >> 52) & 1),
            L = (byte)((descriptor >> 53) & 1),
            Db = (byte)((descriptor >> 54) & 1),
            G = (byte)((descriptor >> 55) & 1),
        };
    }
}
