using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Podvisor.Cli.Cluster;

/// <summary>
/// A kubeconfig user's <c>exec</c> credential plugin (client-go's protocol, client.authentication.k8s.io v1 and
/// v1beta1): the command runs with KUBERNETES_EXEC_INFO describing the request and prints an ExecCredential whose
/// status holds a bearer token or a client certificate and key, possibly with an expiry. A token is asked for again
/// once it has expired.
/// </summary>
internal sealed class ExecCredentialPlugin(string command, IReadOnlyList<string> arguments, IReadOnlyList<KeyValuePair<string, string>> environment,
    string apiVersion)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private ExecCredential? _current;

    /// <summary>What the plugin printed: a token and/or a client certificate and key (PEM), and when it stops being valid.</summary>
    public sealed record ExecCredential(string? Token, string? ClientCertificatePem, string? ClientKeyPem, DateTimeOffset? Expires);

    /// <summary>The credential, asking the plugin again when there is none yet or it has expired.</summary>
    public async Task<ExecCredential> GetAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (_current is { } current && (current.Expires is null || current.Expires > DateTimeOffset.UtcNow.AddSeconds(10))) return current;
            return _current = await RunAsync(cancellationToken);
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<ExecCredential> RunAsync(CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments) psi.ArgumentList.Add(argument);
        foreach (var (name, value) in environment) psi.Environment[name] = value;
        psi.Environment["KUBERNETES_EXEC_INFO"] = new JsonObject
        {
            ["apiVersion"] = apiVersion,
            ["kind"] = "ExecCredential",
            ["spec"] = new JsonObject { ["interactive"] = false },
        }.ToJsonString();
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new ClusterException($"the kubeconfig's exec credential plugin {command} did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new ClusterException($"the kubeconfig's exec credential plugin {command} cannot be run: {e.Message}");
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var errors = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            if (process.ExitCode != 0)
                throw new ClusterException($"the kubeconfig's exec credential plugin {command} failed (exit {process.ExitCode}): {(await errors).Trim()}");
            return Parse(await output, command);
        }
    }

    /// <summary>The credential in an ExecCredential the plugin printed; an error naming the plugin when it is not one.</summary>
    public static ExecCredential Parse(string json, string command)
    {
        JsonElement status;
        try
        {
            var root = JsonDocument.Parse(json).RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("kind", out var kind) || !kind.ValueEquals("ExecCredential")
                || !root.TryGetProperty("status", out status) || status.ValueKind != JsonValueKind.Object)
                throw new ClusterException($"the kubeconfig's exec credential plugin {command} printed no ExecCredential with a status");
        }
        catch (JsonException e)
        {
            throw new ClusterException($"the kubeconfig's exec credential plugin {command} printed something that is not JSON: {e.Message}");
        }
        static string? Text(JsonElement status, string name) => JsonFields.Text(status, name) is { Length: > 0 } text ? text : null;
        string? token = Text(status, "token"), certificate = Text(status, "clientCertificateData"), key = Text(status, "clientKeyData");
        if (token is null && (certificate is null || key is null))
            throw new ClusterException($"the kubeconfig's exec credential plugin {command} gave neither a token nor a client certificate and key");
        DateTimeOffset? expires = Text(status, "expirationTimestamp") is { } at && DateTimeOffset.TryParse(at, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var when) ? when : null;
        return new ExecCredential(token, certificate, key, expires);
    }
}
