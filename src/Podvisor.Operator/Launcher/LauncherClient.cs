using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using k8s.Models;
using Podvisor.Api.Control;

namespace Podvisor.Operator.Launcher;

/// <summary>
/// <see cref="ILauncherClient"/> over HTTPS to the pod's IP. A launcher serves a certificate from its VMI's own CA (in the
/// VMI's control Secret, <see cref="Api.Control.ControlCertificates"/>); a peer whose certificate does not chain to that
/// CA is refused before anything is sent, so the token and a migration's credentials reach that VMI's launcher alone.
/// No host name is checked: pods are reached by IP, and the CA vouches for one certificate. One HTTP client per CA keeps
/// connections to a VMI's launchers alive between calls.
/// </summary>
public sealed class LauncherClient : ILauncherClient, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    /// <summary>Clients kept (one per VMI talked to recently); beyond this all are dropped and made again as needed.</summary>
    private const int MaxClients = 64;
    private readonly ConcurrentDictionary<string, HttpClient> _clients = new();
    private readonly int _port;

    public LauncherClient(int controlPort)
    {
        _port = controlPort;
    }

    private HttpClient ClientFor(string caPem)
    {
        // Dropped, not disposed: another call may still be using one; idle connections close on their own.
        if (_clients.Count >= MaxClients && !_clients.ContainsKey(caPem)) _clients.Clear();
        return _clients.GetOrAdd(caPem, CreateClient);
    }

    private static HttpClient CreateClient(string caPem)
    {
        var ca = X509Certificate2.CreateFromPem(caPem);
        return new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, peer, _, _) => peer is not null && PrivateCa.Trusts(ca, peer, out _) },
            ConnectTimeout = Timeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        }) { Timeout = Timeout };
    }

    public async Task<LauncherMigrationStatus?> GetMigrationAsync(V1Pod pod, LauncherCredentials credentials, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(pod, credentials, HttpMethod.Get, "/v1/migration", null, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await EnsureSuccessAsync(pod, response, cancellationToken);
        return await response.Content.ReadFromJsonAsync(ControlApiJson.Default.LauncherMigrationStatus, cancellationToken);
    }

    public async Task<string?> StartMigrationAsync(V1Pod pod, LauncherCredentials credentials, MigrateRequest request, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(pod, credentials, HttpMethod.Put, "/v1/migrate", JsonContent.Create(request, ControlApiJson.Default.MigrateRequest), cancellationToken);
        if (response.IsSuccessStatusCode) return null;
        if (response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.BadRequest) return await ErrorOf(response, cancellationToken);
        await EnsureSuccessAsync(pod, response, cancellationToken);
        return null;
    }

    public async Task<bool> CancelMigrationAsync(V1Pod pod, LauncherCredentials credentials, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(pod, credentials, HttpMethod.Delete, "/v1/migration", null, cancellationToken);
        if (response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound) return false;
        await EnsureSuccessAsync(pod, response, cancellationToken);
        return true;
    }

    public async Task<string?> SetPausedAsync(V1Pod pod, LauncherCredentials credentials, bool paused, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(pod, credentials, HttpMethod.Put, paused ? "/v1/pause" : "/v1/unpause", null, cancellationToken);
        if (response.IsSuccessStatusCode) return null;
        if (response.StatusCode != HttpStatusCode.Conflict) await EnsureSuccessAsync(pod, response, cancellationToken);
        string refusal = await ErrorOf(response, cancellationToken);
        // Refused because it already is (an earlier attempt got through, its answer did not)?
        using var status = await SendAsync(pod, credentials, HttpMethod.Get, "/v1/status", null, cancellationToken);
        await EnsureSuccessAsync(pod, status, cancellationToken);
        using var json = JsonDocument.Parse(await status.Content.ReadAsStringAsync(cancellationToken));
        return json.RootElement.TryGetProperty("state", out var state) && state.ValueEquals(paused ? "Paused" : "Running") ? null : refusal;
    }

    private async Task<HttpResponseMessage> SendAsync(V1Pod pod, LauncherCredentials credentials, HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        string name = $"{pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}";
        if (pod.Status?.PodIP is not { Length: > 0 } ip) throw new LauncherUnreachableException($"launcher pod {name} has no IP yet");
        var request = new HttpRequestMessage(method, $"https://{(ip.Contains(':') ? $"[{ip}]" : ip)}:{_port}{path}") { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credentials.Token);
        try
        {
            return await ClientFor(credentials.CaCertificatePem).SendAsync(request, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException || e is TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new LauncherUnreachableException($"launcher pod {name} at {ip}:{_port} did not answer {method} {path}: {e.Message}", e);
        }
    }

    private static async Task EnsureSuccessAsync(V1Pod pod, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode) return;
        throw new LauncherUnreachableException($"launcher pod {pod.Metadata.NamespaceProperty}/{pod.Metadata.Name} answered {(int)response.StatusCode}: {await ErrorOf(response, cancellationToken)}");
    }

    private static async Task<string> ErrorOf(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string body = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            if (JsonDocument.Parse(body).RootElement.TryGetProperty("error", out var error) && error.GetString() is { } message) return message;
        }
        catch (JsonException) { }
        return body.Length > 0 ? body : response.ReasonPhrase ?? response.StatusCode.ToString();
    }

    public void Dispose()
    {
        foreach (var client in _clients.Values) client.Dispose();
        _clients.Clear();
    }
}
