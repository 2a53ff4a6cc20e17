namespace Podvisor.Vmm.Devices.Virtio.Net;

/// <summary>virtio-net feature bits (virtio 1.2 §5.1.3) that we offer.</summary>
public static class NetFeatures
{
    public const int Csum = 0, GuestCsum = 1, Mac = 5, GuestTso4 = 7, GuestTso6 = 8, HostTso4 = 11, HostTso6 = 12, MergeableRxBuffers = 15;
}
