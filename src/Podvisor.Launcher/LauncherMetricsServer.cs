using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Podvisor.Launcher;

/// <summary>
/// The VM's metrics (<see cref="LauncherMetrics"/>) for Prometheus: plain HTTP <c>GET /metrics</c> on the metrics port, its
/// own listener, so the control API's port stays TLS-only and a scraper needs no credentials (as virt-handler's and
/// node-exporter's endpoints do). The pod's prometheus.io annotations name the port.
/// </summary>
public sealed class LauncherMetricsServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LauncherMetricsServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    /// <summary>The port listened on (the one asked for, or the one the system chose for port 0).</summary>
    public int Port { get; }

    public static async Task<LauncherMetricsServer> StartAsync(IPAddress address, int port, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, port));
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(LauncherTelemetry.Name).AddPrometheusExporter());
        var app = builder.Build();
        app.UseOpenTelemetryPrometheusScrapingEndpoint();
        await app.StartAsync(cancellationToken);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        return new LauncherMetricsServer(app, new Uri(addresses.First()).Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
