namespace Podvisor.Testing;

/// <summary>
/// The launcher as tests run it: the native binary scripts/publish made when PODVISOR_LAUNCHER_NATIVE names it (what the
/// image carries), else the framework-dependent build from its own output folder (its RID-specific dependencies are there).
/// </summary>
public static class LauncherBinary
{
    public static string Dll => Repository.BuiltAssembly("Podvisor.Launcher", "podvisor-launcher.dll", "linux-x64");

    public static string? Native => NativeBuild.Named("PODVISOR_LAUNCHER_NATIVE");

    /// <summary>The program and first arguments that start the launcher; its own arguments follow.</summary>
    public static string[] Command => Native is { } native ? [native] : ["dotnet", Dll];
}
