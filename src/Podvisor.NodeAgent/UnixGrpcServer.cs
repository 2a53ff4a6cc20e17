using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Podvisor.NodeAgent;

/// <summary>
/// A gRPC service on a Unix socket, HTTP/2 without TLS, as the kubelet's device plugin API speaks it (each plugin
/// serves on its own socket in the kubelet's device-plugins directory, and the kubelet on kubelet.sock there). A socket
/// left by an earlier run is removed first; stopping removes it too.
/// </summary>
public sealed class UnixGrpcServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    public string SocketPath { get; }

    private UnixGrpcServer(WebApplication app, string socketPath)
    {
        _app = app;
        SocketPath = socketPath;
    }

    /// <summary>Serves <paramref name="service"/> (one instance for every call) on <paramref name="socketPath"/>.</summary>
    public static async Task<UnixGrpcServer> StartAsync<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors
        | DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods)] TService>(
        string socketPath, TService service, CancellationToken cancellationToken) where TService : class
    {
        if (File.Exists(socketPath)) File.Delete(socketPath);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenUnixSocket(socketPath, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        var app = builder.Build();
        app.MapGrpcService<TService>();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return new UnixGrpcServer(app, socketPath);
    }

    public async ValueTask DisposeAsync()
    {
        using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(5));   // a ListAndWatch stream does not end on its own
        try
        {
            await _app.StopAsync(quick.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) { }
        await _app.DisposeAsync().ConfigureAwait(false);
        if (File.Exists(SocketPath)) File.Delete(SocketPath);
    }
}
