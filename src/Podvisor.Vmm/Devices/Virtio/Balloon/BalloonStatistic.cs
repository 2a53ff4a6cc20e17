namespace Podvisor.Vmm.Devices.Virtio.Balloon;

/// <summary>Statistic tags (virtio 1.2 §5.5.6.3): page counts are converted to bytes by the guest.</summary>
public enum BalloonStatistic : ushort
{
    SwapIn = 0,
    SwapOut = 1,
    MajorFaults = 2,
    MinorFaults = 3,
    FreeMemory = 4,
    TotalMemory = 5,
    AvailableMemory = 6,
    DiskCaches = 7,
    HugetlbAllocations = 8,
    HugetlbFailures = 9,
}
