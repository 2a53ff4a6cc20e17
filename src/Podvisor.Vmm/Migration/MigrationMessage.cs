namespace Podvisor.Vmm.Migration;

/// <summary>The frames of the migration protocol (docs/migration.md has the sequence).</summary>
public enum MigrationMessage : byte
{
    /// <summary>source → target: <see cref="MigrationHello"/> as JSON.</summary>
    Hello = 1,
    /// <summary>target → source: the machine fits; send memory.</summary>
    Accept = 2,
    /// <summary>source → target: guest pages (see <see cref="PageBatch"/>).</summary>
    Pages = 3,
    /// <summary>source → target: the paused machine's <see cref="MachineState"/> (<see cref="MachineStateCodec"/>); no page follows.</summary>
    State = 4,
    /// <summary>target → source: state restored; the target waits for <see cref="Go"/>.</summary>
    StateLoaded = 5,
    /// <summary>source → target: the source has stopped for good; run.</summary>
    Go = 6,
    /// <summary>target → source: the guest runs on the target.</summary>
    Running = 7,
    /// <summary>either way: the migration is over, it failed; the payload says why (UTF-8).</summary>
    Abort = 8,
    /// <summary>source → target, at the end of each pre-copy round: answer <see cref="Synced"/> once every earlier frame is applied.</summary>
    Sync = 9,
    /// <summary>target → source: everything sent before the <see cref="Sync"/> is in guest memory (the link is drained).</summary>
    Synced = 10,
}
