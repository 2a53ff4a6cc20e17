using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using k8s;

namespace Podvisor.Cli.Cluster;

/// <summary>A cluster to talk to: the API client, and WebSockets through the API server with the same credentials.</summary>
internal sealed class ClusterConnection(KubernetesClientConfiguration config, string ns) : IDisposable
{
    public string Namespace { get; } = ns;

    public Kubernetes Client { get; } = new(config);

    /// <summary>Opens a WebSocket to <paramref name="path"/> on the API server (HTTP/1.1 upgrade: what its proxy passes on),
    /// authenticated as the kubeconfig's user, checking the server against the kubeconfig's CA.</summary>
    public async Task<ClientWebSocket> ConnectWebSocketAsync(string path, IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        try
        {
            var builder = new UriBuilder(new Uri(new Uri(config.Host.TrimEnd('/') + "/"), path.TrimStart('/')));
            builder.Scheme = builder.Scheme == "http" ? "ws" : "wss";
            if (config.TokenProvider is { } provider)
            {
                var header = await provider.GetAuthenticationHeaderAsync(cancellationToken);
                socket.Options.SetRequestHeader("Authorization", $"{header.Scheme} {header.Parameter}");
            }
            else if (!string.IsNullOrEmpty(config.AccessToken)) socket.Options.SetRequestHeader("Authorization", $"Bearer {config.AccessToken}");
            else if (!string.IsNullOrEmpty(config.Username))
                socket.Options.SetRequestHeader("Authorization", "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{config.Username}:{config.Password}")));
            if (ClientCertificate() is { } certificate) socket.Options.ClientCertificates.Add(certificate);
            socket.Options.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => config.SkipTlsVerify || Trusted(certificate, errors);
            foreach (var (name, value) in headers) socket.Options.SetRequestHeader(name, value);
            await socket.ConnectAsync(builder.Uri, cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The kubeconfig user's client certificate with its key (PEM, inline base64 or in files), if it has one.</summary>
    private X509Certificate2? ClientCertificate()
    {
        static string? Pem(string? base64, string? file) =>
            !string.IsNullOrEmpty(base64) ? System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(base64))
            : !string.IsNullOrEmpty(file) ? File.ReadAllText(file) : null;
        string? certificate = Pem(config.ClientCertificateData, config.ClientCertificateFilePath);
        string? key = Pem(config.ClientCertificateKeyData, config.ClientKeyFilePath);
        return certificate is null || key is null ? null : X509Certificate2.CreateFromPem(certificate, key);
    }

    /// <summary>Valid for the system, or chains to the kubeconfig's certificate authority (as client-go checks).</summary>
    private bool Trusted(X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None) return true;
        if (certificate is null || config.SslCaCerts is not { Count: > 0 } authorities || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(new X509Certificate2(certificate));
    }

    public void Dispose() => Client.Dispose();
}
