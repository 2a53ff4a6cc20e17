using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
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
        var builder = LauncherWebHost.CreateBuilder(kestrel => kestrel.Listen(address, port));
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(LauncherTelemetry.Name).AddPrometheusExporter());
        var app = builder.Build();
        app.UseOpenTelemetryPrometheusScrapingEndpoint();
        return new LauncherMetricsServer(app, await LauncherWebHost.StartAsync(app, cancellationToken));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
