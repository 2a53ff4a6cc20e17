using System.Diagnostics;

namespace Podvisor.Testing;

/// <summary>The built operator (<c>podvisor-operator</c>) as its own process, as a Deployment runs it, against a test API server.</summary>
public static class OperatorProcess
{
    public static string Dll => Repository.BuiltAssembly("Podvisor.Operator", "podvisor-operator.dll");

    /// <summary>The native operator scripts/publish made, when PODVISOR_OPERATOR_NATIVE names it; else the framework-dependent build runs.</summary>
    public static string? Native => NativeBuild.Named("PODVISOR_OPERATOR_NATIVE");

    /// <summary>Starts a replica that leases in "default"; every line it writes (stdout and stderr) goes to <paramref name="onLine"/>.</summary>
    public static Process Start(KubeApiServer server, string identity, Action<string>? onLine = null) =>
        Start(["--kubeconfig", server.KubeconfigPath, "--lease-namespace", "default", "--identity", identity], environment: null, onLine);

    /// <summary>Starts a replica with the given arguments and environment (a Deployment's container args and env).</summary>
    public static Process Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment, Action<string>? onLine = null)
    {
        string? native = Native;
        var psi = new ProcessStartInfo(native ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in native is null ? arguments.Prepend(Dll) : arguments) psi.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) psi.Environment[key] = value;
        var process = Process.Start(psi)!;
        // Both pipes are always drained: a full pipe would block the operator.
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) onLine?.Invoke(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) onLine?.Invoke(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
