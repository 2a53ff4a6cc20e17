namespace Podvisor.Launcher;

/// <summary>The launcher's command line.</summary>
public sealed record LauncherOptions(string SpecFile, string ControlAddress, int ControlPort, string? ControlTokenFile, LauncherLayout Layout, string KvmDevice);
