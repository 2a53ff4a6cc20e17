using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Podvisor.NodeAgent;

/// <summary>
/// One device plugin's gRPC server: HTTP/2 without TLS on its Unix socket in the kubelet's device-plugins directory (the
/// kubelet dials it there). A socket left by an earlier run is removed first; stopping removes it too.
/// </summary>
public sealed class DevicePluginServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    public string SocketPath { get; }

    private DevicePluginServer(WebApplication app, string socketPath)
    {
        _app = app;
        SocketPath = socketPath;
    }

    public static async Task<DevicePluginServer> StartAsync(string socketPath, DevicePluginService service, CancellationToken cancellationToken)
    {
        if (File.Exists(socketPath)) File.Delete(socketPath);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenUnixSocket(socketPath, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        var app = builder.Build();
        app.MapGrpcService<DevicePluginService>();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return new DevicePluginServer(app, socketPath);
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
