namespace Podvisor.Vmm.Virtio;

/// <summary>Feature bits every device shares (virtio 1.2 §6); device-specific bits live with each device.</summary>
public static class VirtioFeatures
{
    public const int RingIndirectDescriptors = 28;
    public const int RingEventIndex = 29;
    public const int Version1 = 32;

    /// <summary>What our transport and split queues implement for every device.</summary>
    public const ulong Common = 1UL << RingIndirectDescriptors | 1UL << RingEventIndex | 1UL << Version1;

    public static bool Has(ulong features, int bit) => (features & (1UL << bit)) != 0;
}
