using Podvisor.Api.Control;

namespace Podvisor.Launcher;

/// <summary>What the control API can do to the VM this launcher runs.</summary>
public interface IVmControl
{
    VmStatus Status { get; }

    /// <summary>Pauses every vCPU; false if the VM is not running.</summary>
    bool Pause();

    /// <summary>Resumes a paused VM; false if it is not paused.</summary>
    bool Unpause();

    /// <summary>Asks the guest to shut down (ACPI power button); false if nothing in the guest listens to it.</summary>
    bool RequestShutdown();

    /// <summary>Stops the VM now, as pulling the plug does.</summary>
    void Stop();

    /// <summary>This launcher's side of the current or last migration, or null.</summary>
    LauncherMigrationStatus? Migration => null;

    /// <summary>Starts sending the VM to a migration target; null, or why not. Asking again for the same migration is not an error.</summary>
    string? StartMigration(MigrateRequest request, Action<string> log) => "this VM cannot be migrated";

    /// <summary>Cancels the migration under way; false if there is none or the VM was already handed over.</summary>
    bool CancelMigration() => false;
}
