using k8s.Models;
using Podvisor.Api.Control;

namespace Podvisor.Operator.Launcher;

/// <summary>The operator's calls to a launcher's control API (docs/migration.md): the pod's IP, the control port, the VMI's credentials.</summary>
public interface ILauncherClient
{
    /// <summary>The launcher's side of its migration, or null when none has run there.</summary>
    /// <exception cref="LauncherUnreachableException">The launcher did not answer (or not with its VMI's certificate).</exception>
    Task<LauncherMigrationStatus?> GetMigrationAsync(V1Pod pod, LauncherCredentials credentials, CancellationToken cancellationToken);

    /// <summary>Asks a source launcher to send its VM; null when accepted (or already under way for this migration), else why not.</summary>
    /// <exception cref="LauncherUnreachableException">The launcher did not answer (or not with its VMI's certificate).</exception>
    Task<string?> StartMigrationAsync(V1Pod pod, LauncherCredentials credentials, MigrateRequest request, CancellationToken cancellationToken);

    /// <summary>Pauses (or resumes) the launcher's VM; null once it is in that state (already being so included), else the
    /// launcher's reason why not (a migration under way, a VM that is not running).</summary>
    /// <exception cref="LauncherUnreachableException">The launcher did not answer (or not with its VMI's certificate).</exception>
    Task<string?> SetPausedAsync(V1Pod pod, LauncherCredentials credentials, bool paused, CancellationToken cancellationToken);

    /// <summary>Asks a source launcher to cancel its migration; false if it was too late (handed over) or none runs.</summary>
    /// <exception cref="LauncherUnreachableException">The launcher did not answer (or not with its VMI's certificate).</exception>
    Task<bool> CancelMigrationAsync(V1Pod pod, LauncherCredentials credentials, CancellationToken cancellationToken);
}
