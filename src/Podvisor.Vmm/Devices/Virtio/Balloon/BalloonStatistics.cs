namespace Podvisor.Vmm.Devices.Virtio.Balloon;

/// <summary>The guest's memory statistics as its balloon driver last reported them (bytes or counts; null when
/// the guest did not report that one).</summary>
public sealed record BalloonStatistics(DateTimeOffset At, IReadOnlyDictionary<BalloonStatistic, ulong> Values)
{
    public ulong? this[BalloonStatistic tag] => Values.TryGetValue(tag, out ulong v) ? v : null;
}
