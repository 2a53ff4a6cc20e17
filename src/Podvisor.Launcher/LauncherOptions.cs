namespace Podvisor.Launcher;

/// <summary>The launcher's command line. <see cref="MigrationTarget"/> (a migration's uid) makes it a migration target: it
/// receives the VM on <see cref="MigrationPort"/> instead of booting it.</summary>
public sealed record LauncherOptions(string SpecFile, string ControlAddress, int ControlPort, string? ControlTokenFile, LauncherLayout Layout, string KvmDevice,
    string? MigrationTarget = null, int MigrationPort = Api.LauncherLabels.MigrationPort);
