namespace Podvisor.Vmm.Devices.Virtio.Block;

/// <summary>virtio-blk feature bits (virtio 1.2 §5.2.3) that we offer.</summary>
public static class BlockFeatures
{
    public const int SegMax = 2, ReadOnly = 5, Flush = 9, Discard = 13;
}
