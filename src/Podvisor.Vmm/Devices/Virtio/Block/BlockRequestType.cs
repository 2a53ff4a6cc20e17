namespace Podvisor.Vmm.Devices.Virtio.Block;

/// <summary>virtio-blk request types (virtio 1.2 §5.2.6).</summary>
public static class BlockRequestType
{
    public const uint In = 0, Out = 1, Flush = 4, GetId = 8, Discard = 11;
}
