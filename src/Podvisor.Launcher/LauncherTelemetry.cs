using System.Diagnostics;

namespace Podvisor.Launcher;

/// <summary>The launcher's traces: a span for each side of a live migration, in the migration's trace
/// (<see cref="Api.Control.MigrationTrace"/>), exported to an OpenTelemetry collector when OTEL_EXPORTER_OTLP_ENDPOINT
/// names one.</summary>
public static class LauncherTelemetry
{
    public const string Name = "Podvisor.Launcher";

    public static readonly ActivitySource Tracing = new(Name);
}
