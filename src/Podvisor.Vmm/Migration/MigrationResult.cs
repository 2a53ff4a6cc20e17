namespace Podvisor.Vmm.Migration;

/// <summary>What a finished migration measured.</summary>
/// <param name="Downtime">From pausing the source to the target reporting the guest running.</param>
/// <param name="Rounds">Pre-copy rounds, the full pass included, before stop-and-copy.</param>
/// <param name="PagesSent">Pages sent with their contents.</param>
/// <param name="ZeroPages">Pages sent as "zeros" (their number alone) or, in the full pass, not at all.</param>
public sealed record MigrationResult(
    TimeSpan Total, TimeSpan Downtime, ulong BytesSent, int Rounds, ulong PagesSent, ulong ZeroPages, int MaxThrottlePercent);
