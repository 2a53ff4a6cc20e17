using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using k8s.Models;
using Podvisor.Api.Control;

namespace Podvisor.Operator.Launcher;

/// <summary>
/// <see cref="ILauncherClient"/> over HTTPS to the pod's IP. Launchers present a self-signed certificate (their pods
/// are made before any certificate could name them); what authenticates the exchange is the VMI's token, which only
/// the launcher holds, and the migration's own credentials travel inside this channel.
/// </summary>
public sealed class LauncherClient : ILauncherClient, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly HttpClient _http;
    private readonly int _port;

    public LauncherClient(int controlPort)
    {
        _port = controlPort;
        _http = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
            ConnectTimeout = Timeout,
        }) { Timeout = Timeout };
    }

    public async Task<LauncherMigrationStatus?> GetMigrationAsync(V1Pod pod, string token, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(pod, token, HttpMethod.Get, "/v1/migration", null, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await EnsureSuccessAsync(pod, response, cancellationToken);
        return await response.Content.ReadFromJsonAsync(ControlApiJson.Default.LauncherMigrationStatus, cancellationToken);
    }

    public async Task<string?> StartMigrationAsync(V1Pod pod, string token, MigrateRequest request, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(pod, token, HttpMethod.Put, "/v1/migrate", JsonContent.Create(request, ControlApiJson.Default.MigrateRequest), cancellationToken);
        if (response.IsSuccessStatusCode) return null;
        if (response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.BadRequest) return await ErrorOf(response, cancellationToken);
        await EnsureSuccessAsync(pod, response, cancellationToken);
        return null;
    }

    public async Task<bool> CancelMigrationAsync(V1Pod pod, string token, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(pod, token, HttpMethod.Delete, "/v1/migration", null, cancellationToken);
        if (response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound) return false;
        await EnsureSuccessAsync(pod, response, cancellationToken);
        return true;
    }

    private async Task<HttpResponseMessage> SendAsync(V1Pod pod, string token, HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        string name = $"{pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}";
        if (pod.Status?.PodIP is not { Length: > 0 } ip) throw new LauncherUnreachableException($"launcher pod {name} has no IP yet");
        var request = new HttpRequestMessage(method, $"https://{(ip.Contains(':') ? $"[{ip}]" : ip)}:{_port}{path}") { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            return await _http.SendAsync(request, cancellationToken);
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

    public void Dispose() => _http.Dispose();
}
