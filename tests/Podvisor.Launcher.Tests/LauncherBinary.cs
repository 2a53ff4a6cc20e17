using Podvisor.Testing;

namespace Podvisor.Launcher.Tests;

/// <summary>The built launcher, run from its own output folder (its RID-specific dependencies are laid out there, not here).</summary>
internal static class LauncherBinary
{
    public static string Dll => Repository.BuiltAssembly("Podvisor.Launcher", "podvisor-launcher.dll", "linux-x64");
}
