using System.Diagnostics;
using Podvisor.Testing;

namespace Podvisor.Cli.Tests;

/// <summary>Runs the built podvisor CLI (framework-dependent build of this configuration) as a child process.</summary>
internal static class Podvisor
{
    public static string RepositoryRoot => Repository.Root;

    public static string Dll => Repository.BuiltAssembly("Podvisor.Cli", "podvisor.dll", "linux-x64");

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Starts podvisor with its output redirected; the caller waits for it. With <paramref name="trace"/>
    /// its trace is on (when the VM stops it reports its exits and the serial port's state: what a stuck console
    /// test needs).</summary>
    /// <summary>The native podvisor scripts/publish made, as users install it, when PODVISOR_CLI_NATIVE names it; else null.</summary>
    public static string? Native => NativeBuild.Named("PODVISOR_CLI_NATIVE");

    /// <param name="native">Run the native build when there is one (<see cref="Native"/>).</param>
    public static Process Start(IEnumerable<string> args, string? tempDirectory = null, bool trace = false, bool native = false)
    {
        string? binary = native ? Native : null;
        var psi = new ProcessStartInfo(binary ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            WorkingDirectory = RepositoryRoot,
        };
        if (binary is null) psi.ArgumentList.Add(Dll);
        foreach (string a in args) psi.ArgumentList.Add(a);
        if (tempDirectory is not null) psi.Environment["TMPDIR"] = tempDirectory;
        if (trace) psi.Environment["PODVISOR_TRACE"] = "1";
        return Process.Start(psi)!;
    }

    /// <summary>Interrupts a started podvisor as Ctrl-C does (it stops the VM and reports how it stood) and
    /// returns its standard error; kills it if it does not end within 30 s.</summary>
    public static async Task<string> InterruptAsync(Process process, Task<string> stderr)
    {
        if (!process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-INT", process.Id.ToString()])) await kill.WaitForExitAsync();
            try
            {
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        return await stderr;
    }

    public static Result Run(IEnumerable<string> args, string? tempDirectory = null, TimeSpan? timeout = null, bool native = false)
    {
        using var process = Start(args, tempDirectory, native: native);
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
