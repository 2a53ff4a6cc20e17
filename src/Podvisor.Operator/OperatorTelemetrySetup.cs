using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator;

/// <summary>
/// Where the operator's telemetry goes: metrics to a Prometheus scrape endpoint (<c>--metrics-port</c>: Kestrel serves
/// <c>/metrics</c>, with <c>/healthz</c> beside it), and metrics and traces to an OpenTelemetry collector when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> names one (the standard variables configure the exporter).
/// </summary>
public static class OperatorTelemetrySetup
{
    public static void Add(IServiceCollection services, OperatorOptions options)
    {
        // The collector the operator's options read from OTEL_EXPORTER_OTLP_ENDPOINT (its launchers get the same).
        bool otlp = options.Launcher.OtlpEndpoint is not null;
        if (options.MetricsPort == 0 && !otlp) return;
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("podvisor-operator", serviceInstanceId: options.Identity))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(OperatorTelemetry.Name);
                if (options.MetricsPort > 0) metrics.AddPrometheusExporter();
                if (otlp) metrics.AddOtlpExporter();
            });
        if (otlp) telemetry.WithTracing(tracing => tracing.AddSource(OperatorTelemetry.Name).AddOtlpExporter());
    }

    /// <summary>The endpoints Kestrel serves on the metrics port.</summary>
    public static void MapEndpoints(WebApplication app)
    {
        app.UseOpenTelemetryPrometheusScrapingEndpoint();
        app.MapGet("/healthz", () => "ok\n");
    }
}
