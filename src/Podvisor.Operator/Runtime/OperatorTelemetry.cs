using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Podvisor.Operator.Runtime;

/// <summary>
/// The operator's traces and process-wide metrics (names as KubeVirt's where it has one, prefixed podvisor_): a span per
/// reconcile; reconciles counted and timed by controller and outcome; migration downtimes; whether this replica leads.
/// The cluster's state as metrics (VMIs by phase, migrations) is <see cref="OperatorMetrics"/>, while leading.
/// </summary>
public static class OperatorTelemetry
{
    public const string Name = "Podvisor.Operator";

    public static readonly ActivitySource Tracing = new(Name);

    private static readonly Meter Meter = new(Name);

    private static int _leading;

    /// <summary>Reconciles by controller and result (success, requeue, error).</summary>
    public static readonly Counter<long> Reconciles = Meter.CreateCounter<long>("podvisor_operator_reconcile", description: "Reconciles by controller and result");

    public static readonly Histogram<double> ReconcileDuration = Meter.CreateHistogram<double>("podvisor_operator_reconcile_duration_seconds", "s",
        "How long each reconcile took, by controller");

    /// <summary>The guest's pause at the end of each successful live migration.</summary>
    public static readonly Histogram<double> MigrationDowntime = Meter.CreateHistogram<double>("podvisor_vmi_migration_downtime_seconds", "s",
        "The guest's pause in the final stop-and-copy of each successful live migration",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5] });

    static OperatorTelemetry()
    {
        Meter.CreateObservableGauge("podvisor_operator_leading_status", () => (long)Volatile.Read(ref _leading),
            description: "1 while this operator replica holds the lease and runs the controllers, else 0 (KubeVirt's virt-controller leading status)");
    }

    /// <summary>Set while this process leads.</summary>
    public static bool Leading
    {
        set => Volatile.Write(ref _leading, value ? 1 : 0);
    }
}
