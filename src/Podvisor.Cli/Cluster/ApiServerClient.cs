using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Podvisor.Cli.Cluster;

/// <summary>
/// The Kubernetes API over HTTPS as <see cref="ClusterConfig"/> describes it: JSON in, JSON out, an error status as an
/// <see cref="ApiServerException"/> carrying the Status's message. The few calls the CLI makes (its own resources,
/// pods, events, a Secret, the version) need no more.
/// </summary>
internal sealed class ApiServerClient : IDisposable
{
    private readonly ClusterConfig _config;
    private readonly HttpClient _http;

    public ApiServerClient(ClusterConfig config)
    {
        _config = config;
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) => Trusted(certificate, errors),
                ClientCertificates = config.ClientCertificate is { } client ? [client] : null,
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri(config.Server.ToString().TrimEnd('/') + "/") };
    }

    public Uri Server => _config.Server;

    public Task<JsonElement> GetAsync(string path, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, path, body: null, contentType: null, cancellationToken);

    public async Task<JsonElement> SendAsync(HttpMethod method, string path, string? body, string? contentType, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue(contentType ?? "application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        foreach (var (name, value) in await HeadersAsync(cancellationToken)) request.Headers.TryAddWithoutValidation(name, value);
        using var response = await _http.SendAsync(request, cancellationToken);
        string content = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode) throw ApiServerException.From(response.StatusCode, response.ReasonPhrase, content);
        try
        {
            return JsonDocument.Parse(content).RootElement;
        }
        catch (JsonException e)
        {
            throw new ClusterException($"the API server answered {method} {path} with something that is not JSON: {e.Message}");
        }
    }

    /// <summary>The headers that say who asks: credentials (the exec plugin asked when its token has run out) and impersonation.</summary>
    public async Task<List<KeyValuePair<string, string>>> HeadersAsync(CancellationToken cancellationToken)
    {
        var headers = new List<KeyValuePair<string, string>>();
        string? token = _config.Token;
        if (_config.Exec is { } exec) token = (await exec.GetAsync(cancellationToken)).Token ?? token;
        if (token is not null) headers.Add(new("Authorization", $"Bearer {token}"));
        else if (_config.Basic is var (user, password))
            headers.Add(new("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"))));
        if (_config.Impersonate is { Length: > 0 } impersonate) headers.Add(new("Impersonate-User", impersonate));
        foreach (string group in _config.ImpersonateGroups) headers.Add(new("Impersonate-Group", group));
        return headers;
    }

    /// <summary>
    /// Valid for the system, or chaining to the kubeconfig's certificate authority (as client-go checks), for the server's
    /// host name or the kubeconfig's tls-server-name; anything with insecure-skip-tls-verify.
    /// </summary>
    public bool Trusted(X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (_config.SkipTlsVerify || errors == SslPolicyErrors.None) return true;
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0) return false;
        using var leaf = new X509Certificate2(certificate);
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0
            && (_config.TlsServerName is not { Length: > 0 } serverName || !leaf.MatchesHostname(serverName))) return false;
        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0) return true;
        if (_config.Authorities.Count == 0) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_config.Authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }

    public void Dispose() => _http.Dispose();
}
