using System.Diagnostics;

namespace Podvisor.Cli.Tests;

/// <summary>Runs the built podvisor CLI (framework-dependent build of this configuration) as a child process.</summary>
internal static class Podvisor
{
    public static readonly string RepositoryRoot = FindRepositoryRoot();

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Operator.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no Operator.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>Debug or Release: whatever this test assembly was built as.</summary>
    private static string Configuration =>
        Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)))!;

    public static string Dll => Path.Combine(RepositoryRoot, "src", "Podvisor.Cli", "bin", Configuration, "net10.0", "linux-x64", "podvisor.dll");

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Starts podvisor with its output redirected; the caller waits for it.</summary>
    public static Process Start(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            WorkingDirectory = RepositoryRoot,
        };
        psi.ArgumentList.Add(Dll);
        foreach (string a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    public static Result Run(IEnumerable<string> args, string? tempDirectory = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            WorkingDirectory = RepositoryRoot,
        };
        psi.ArgumentList.Add(Dll);
        foreach (string a in args) psi.ArgumentList.Add(a);
        if (tempDirectory is not null) psi.Environment["TMPDIR"] = tempDirectory;
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(1)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"podvisor {string.Join(' ', args)} did not finish in time; stderr so far:\n{stderr.Result}");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
