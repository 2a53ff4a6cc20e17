namespace Podvisor.Vmm.Migration;

/// <summary>Where a migration stands after a round of pre-copy (what status reports show).</summary>
/// <param name="Round">0 is the full pass; later rounds send what the guest dirtied meanwhile.</param>
/// <param name="BytesSent">Bytes written to the link so far (page data and headers).</param>
/// <param name="RemainingBytes">Dirty memory still to send when the round ended.</param>
/// <param name="BandwidthBytesPerSecond">Measured over the last round.</param>
/// <param name="DirtyBytesPerSecond">How fast the guest dirtied memory during the last round.</param>
/// <param name="ThrottlePercent">Auto-converge's current vCPU throttle.</param>
/// <param name="Writing">Of the time so far, how long writing to the link took (encryption included, on a TLS link).</param>
/// <param name="Syncing">How long the ends of rounds waited for the target to apply what it had been sent.</param>
public sealed record MigrationProgress(
    int Round, TimeSpan Elapsed, ulong BytesSent, ulong PagesSent, ulong ZeroPages, ulong RemainingBytes,
    double BandwidthBytesPerSecond, double DirtyBytesPerSecond, int ThrottlePercent, TimeSpan Writing = default, TimeSpan Syncing = default);
