namespace Podvisor.Vmm.Devices.Virtio.Balloon;

/// <summary>virtio-balloon feature bits (virtio 1.2 §5.5.3).</summary>
public static class BalloonFeatures
{
    public const int MustTellHost = 0, StatsQueue = 1, DeflateOnOom = 2, FreePageHint = 3, PagePoison = 4, PageReporting = 5;
}
