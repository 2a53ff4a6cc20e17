namespace Podvisor.Api;

/// <summary>Reasons the operator writes on VMI conditions and status.</summary>
public static class ConditionReasons
{
    /// <summary>Synchronized=False: the VMI's spec fails validation (the message lists each field).</summary>
    public const string InvalidSpec = "InvalidSpec";

    /// <summary>Synchronized=False: a PersistentVolumeClaim the VMI names does not exist.</summary>
    public const string PvcNotFound = "FailedPvcNotFound";

    /// <summary>Synchronized=False: the API server refused the launcher pod.</summary>
    public const string FailedCreate = "FailedCreate";

    /// <summary>Failed: the launcher pod went away while the VM was starting or running.</summary>
    public const string PodDeleted = "LauncherPodDeleted";

    /// <summary>Failed: the launcher pod failed (the VMM exited with an error, or the node evicted it).</summary>
    public const string PodFailed = "LauncherPodFailed";

    /// <summary>Ready=False while the launcher pod waits for a node.</summary>
    public const string PodPending = "PodPending";

    /// <summary>Ready=False while the launcher starts and the guest boots.</summary>
    public const string GuestNotRunning = "GuestNotRunning";

    /// <summary>Paused=True, and Ready=False: paused at a user's request (<see cref="VmiAnnotations.Paused"/>), KubeVirt's reason.</summary>
    public const string PausedByUser = "PausedByUser";

    /// <summary>Failed: the source handed the VM over to a migration target that never ran it (the VM runs nowhere).</summary>
    public const string MigrationLost = "MigrationLost";

    /// <summary>A migration's Ready=False while it waits its turn (another migration of the VMI, or the limits).</summary>
    public const string MigrationWaiting = "MigrationWaiting";

    /// <summary>A migration's Ready=False once it failed: the message says why (the VM runs on at the source).</summary>
    public const string MigrationFailed = "MigrationFailed";
}
