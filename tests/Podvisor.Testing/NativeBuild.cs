namespace Podvisor.Testing;

/// <summary>The native (NativeAOT) binaries <c>scripts/publish</c> made, as the images carry them and users install them.</summary>
public static class NativeBuild
{
    /// <summary>
    /// The binary the environment variable names (scripts/test sets PODVISOR_OPERATOR_NATIVE and PODVISOR_CLI_NATIVE), or
    /// null when it is unset: then tests run the framework-dependent build. Named but missing is an error: a test run meant
    /// for the native build must not quietly test the other.
    /// </summary>
    public static string? Named(string variable) => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } path
        ? File.Exists(path) ? path : throw new FileNotFoundException($"{variable} names {path}, which does not exist (run scripts/publish)")
        : null;
}
