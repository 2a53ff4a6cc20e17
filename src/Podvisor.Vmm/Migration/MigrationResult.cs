namespace Podvisor.Vmm.Migration;

/// <summary>What a finished migration measured.</summary>
/// <param name="Downtime">From pausing the source to the guest running on the target: until the target's Running arrived,
/// less how long the target says the guest had run when it sent it (an upper bound: the message's own trip counts).</param>
/// <param name="Rounds">Pre-copy rounds, the full pass included, before stop-and-copy.</param>
/// <param name="PagesSent">Pages sent with their contents.</param>
/// <param name="ZeroPages">Pages sent as "zeros" (their number alone) or, in the full pass, not at all.</param>
/// <param name="DowntimeParts">Where the downtime went.</param>
public sealed record MigrationResult(
    TimeSpan Total, TimeSpan Downtime, ulong BytesSent, int Rounds, ulong PagesSent, ulong ZeroPages, int MaxThrottlePercent,
    DowntimeBreakdown DowntimeParts);

/// <summary>
/// The downtime's parts, in order: parking the vCPUs and devices; sending the last dirty pages; saving the
/// machine state (disks flushed); the state crossing and being restored (until StateLoaded); the handover
/// (Go until the guest runs on the target).
/// </summary>
public sealed record DowntimeBreakdown(TimeSpan Pause, TimeSpan LastPages, ulong LastPageCount, TimeSpan SaveState, TimeSpan RestoreState, TimeSpan Handover)
{
    public override string ToString() =>
        $"pause {Ms(Pause)}, last {LastPageCount} pages {Ms(LastPages)}, save state {Ms(SaveState)}, restore {Ms(RestoreState)}, handover {Ms(Handover)}";

    private static string Ms(TimeSpan t) => $"{t.TotalMilliseconds:0.0} ms";
}
