namespace Podvisor.Vmm.Migration;

/// <summary>How a live migration trades downtime against time and gives up.</summary>
public sealed record MigrationOptions
{
    /// <summary>
    /// Stop-and-copy starts when what is left would cross the link within this (at the bandwidth measured
    /// so far). QEMU's default is 300 ms; Podvisor aims lower.
    /// </summary>
    public TimeSpan MaxDowntime { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The whole migration may take this long per GiB of guest memory (KubeVirt: 150 s).</summary>
    public TimeSpan CompletionTimeoutPerGiB { get; init; } = TimeSpan.FromSeconds(150);

    /// <summary>The migration fails when what is left has not shrunk for this long (KubeVirt: 150 s).</summary>
    public TimeSpan ProgressTimeout { get; init; } = TimeSpan.FromSeconds(150);

    /// <summary>Throttle the vCPUs when the guest dirties memory faster than the link carries it.</summary>
    public bool AllowAutoConverge { get; init; } = true;

    /// <summary>How long each side waits for the other during the handover (state loaded, guest running).</summary>
    public TimeSpan HandoverTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The target gives up when the source sends nothing for this long during the transfer (a frame is at most a
    /// few MiB, and the source sends without pause): a source whose node vanished closes no connection, and the
    /// target must not wait for it forever.
    /// </summary>
    public TimeSpan LinkIdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public void Validate()
    {
        if (MaxDowntime <= TimeSpan.Zero) throw new ArgumentException($"the allowed downtime must be positive, got {MaxDowntime}");
        if (CompletionTimeoutPerGiB <= TimeSpan.Zero) throw new ArgumentException($"the completion timeout per GiB must be positive, got {CompletionTimeoutPerGiB}");
        if (ProgressTimeout <= TimeSpan.Zero) throw new ArgumentException($"the progress timeout must be positive, got {ProgressTimeout}");
        if (HandoverTimeout <= TimeSpan.Zero) throw new ArgumentException($"the handover timeout must be positive, got {HandoverTimeout}");
        if (LinkIdleTimeout <= TimeSpan.Zero) throw new ArgumentException($"the link idle timeout must be positive, got {LinkIdleTimeout}");
    }
}
