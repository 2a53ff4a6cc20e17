namespace Podvisor.Launcher;

/// <summary>The launcher's command line. <see cref="MigrationTarget"/> (a migration's uid) makes it a migration target: it
/// receives the VM on <see cref="MigrationPort"/> instead of booting it. <see cref="ControlTlsDirectory"/>: where the control API's
/// certificate and key are (the VMI's control Secret); without it the launcher makes itself a self-signed one.
/// <see cref="MetricsPort"/>: plain-HTTP port of the Prometheus endpoint; 0: none.</summary>
public sealed record LauncherOptions(string SpecFile, string ControlAddress, int ControlPort, string? ControlTokenFile, LauncherLayout Layout, string KvmDevice,
    string? MigrationTarget = null, int MigrationPort = Api.LauncherLabels.MigrationPort, string? ControlTlsDirectory = null, int MetricsPort = 0);
