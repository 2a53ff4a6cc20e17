using System.Diagnostics;
using Podvisor.Testing;

namespace Podvisor.EndToEnd.Tests;

/// <summary>The podvisor CLI as users run it: the native build where scripts/publish made one (PODVISOR_CLI_NATIVE, as
/// scripts/test sets it), else the framework-dependent build.</summary>
internal static class PodvisorCli
{
    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        string? native = NativeBuild.Named("PODVISOR_CLI_NATIVE");
        var psi = new ProcessStartInfo(native ?? "dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        if (native is null) psi.ArgumentList.Add(Repository.BuiltAssembly("Podvisor.Cli", "podvisor.dll", "linux-x64"));
        foreach (string a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>Runs a command to its end (at most <paramref name="timeout"/>); exit code, standard output and error.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(IEnumerable<string> args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cli = Process.Start(StartInfo(args))!;
        cli.StandardInput.Close();
        var output = cli.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = cli.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await cli.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            cli.Kill(entireProcessTree: true);
            throw new TimeoutException($"podvisor {string.Join(' ', args)} did not end within {timeout}: {await errors}");
        }
        return (cli.ExitCode, await output, await errors);
    }
}
