namespace Podvisor.Vmm.Virtio;

/// <summary>Virtio device IDs (virtio 1.2 §5).</summary>
public enum VirtioDeviceType : uint
{
    Net = 1,
    Block = 2,
    Rng = 4,
    Balloon = 5,
    Vsock = 19,
}
