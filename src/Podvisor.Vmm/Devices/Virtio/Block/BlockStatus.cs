namespace Podvisor.Vmm.Devices.Virtio.Block;

/// <summary>The status byte that ends every virtio-blk request.</summary>
public static class BlockStatus
{
    public const byte Ok = 0, IoError = 1, Unsupported = 2;
}
