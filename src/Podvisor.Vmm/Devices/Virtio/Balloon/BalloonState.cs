namespace Podvisor.Vmm.Devices.Virtio.Balloon;

/// <summary>The balloon's state beyond its queues: the configuration and the statistics buffer it holds.</summary>
public sealed record BalloonState(uint TargetPages, uint ActualPages, ushort? HeldStatisticsHead);
