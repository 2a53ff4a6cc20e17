namespace Podvisor.Testing;

/// <summary>Where the repository and its build outputs are, seen from a test assembly.</summary>
public static class Repository
{
    public static readonly string Root = FindRoot();

    /// <summary>Debug or Release: whatever the running test assembly was built as.</summary>
    public static string Configuration =>
        Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)))!;

    /// <summary>The built assembly of a project under src/, in this configuration.</summary>
    public static string BuiltAssembly(string project, string assembly, string? runtimeIdentifier = null) =>
        Path.Combine([Root, "src", project, "bin", Configuration, "net10.0", .. runtimeIdentifier is null ? Array.Empty<string>() : [runtimeIdentifier], assembly]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Operator.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no Operator.sln above {AppContext.BaseDirectory}");
    }
}
