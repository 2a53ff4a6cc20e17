using System.Net.WebSockets;

namespace Podvisor.Cli.Cluster;

/// <summary>A cluster to talk to: the API server, and WebSockets through it with the same credentials.</summary>
internal sealed class ClusterConnection(ClusterConfig config, string ns) : IDisposable
{
    public string Namespace { get; } = ns;

    public ApiServerClient Api { get; } = new(config);

    /// <summary>Opens a WebSocket to <paramref name="path"/> on the API server (HTTP/1.1 upgrade: what its proxy passes on),
    /// authenticated as the kubeconfig's user, checking the server as <see cref="ApiServerClient"/> does.</summary>
    public async Task<ClientWebSocket> ConnectWebSocketAsync(string path, IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        try
        {
            var builder = new UriBuilder(new Uri(new Uri(config.Server.ToString().TrimEnd('/') + "/"), path.TrimStart('/')));
            builder.Scheme = builder.Scheme == "http" ? "ws" : "wss";
            foreach (var (name, value) in await Api.HeadersAsync(cancellationToken)) socket.Options.SetRequestHeader(name, value);
            if (config.ClientCertificate is { } certificate) socket.Options.ClientCertificates.Add(certificate);
            socket.Options.RemoteCertificateValidationCallback = (_, certificate, _, errors) => Api.Trusted(certificate, errors);
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

    public void Dispose() => Api.Dispose();
}
