namespace Podvisor.EmulatedHost;

/// <summary>How to boot the emulated KVM host.</summary>
public sealed record EmulatedHostOptions
{
    /// <summary>Memory of the emulated host, MiB (its guests' memory comes out of this).</summary>
    public int MemoryMiB { get; init; } = 4096;

    public int Cpus { get; init; } = 2;

    /// <summary>Host directories shared read-write at the same path (everything else is a read-only view of /).</summary>
    public IReadOnlyList<string> WritableShares { get; init; } = [Environment.CurrentDirectory];

    /// <summary>From QEMU start until the agent reports ready; a hung boot fails within this.</summary>
    public TimeSpan BootTimeout { get; init; } = TimeSpan.FromMinutes(3);

    public string QemuBinary { get; init; } = "qemu-system-x86_64";

    public string? CacheDirectory { get; init; }

    /// <summary>Progress lines (asset building, boot timing); null for silence.</summary>
    public Action<string>? Log { get; init; }
}
