namespace Podvisor.Api.Control;

/// <summary>Where a launcher's side of a migration stands (<see cref="LauncherMigrationStatus.Phase"/>).</summary>
public static class LauncherMigrationPhases
{
    /// <summary>Target: listening for the source, VM made, nothing received yet.</summary>
    public const string Listening = "Listening";

    /// <summary>Either side: memory and state crossing.</summary>
    public const string Transferring = "Transferring";

    /// <summary>Source: the VM runs on the target now and stopped here. Target: the VM runs here.</summary>
    public const string Completed = "Completed";

    /// <summary>Failed or cancelled: on the source the VM runs on there; a target never ran it.</summary>
    public const string Failed = "Failed";
}
