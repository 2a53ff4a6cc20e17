using System.Diagnostics;

namespace Podvisor.EmulatedHost;

/// <summary>Runs a helper program to completion and fails with its stderr when it fails.</summary>
public static class ProcessRunner
{
    public static async Task<string> RunAsync(string file, IEnumerable<string> args, string? workingDirectory = null,
        CancellationToken cancellationToken = default)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string arg in args) psi.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new EmulatedHostException($"could not start {file}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new EmulatedHostException($"could not start {file}: {e.Message} (is its package installed?)");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            if (process.ExitCode != 0)
                throw new EmulatedHostException($"{file} {string.Join(' ', psi.ArgumentList)} failed (exit {process.ExitCode}): {(await stderr).Trim()}");
            return await stdout;
        }
    }
}
