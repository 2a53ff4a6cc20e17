using System.Diagnostics.Metrics;
using Podvisor.Api;

namespace Podvisor.Operator.Runtime;

/// <summary>
/// The cluster as metrics, computed from the operator's caches at each scrape (KubeVirt's names, prefixed podvisor_):
/// VMIs by phase and node; migrations by phase; each running migration's bytes sent and still to send. A Meter of its
/// own, disposed when the controllers stop (a replica that does not lead reports none of these).
/// </summary>
public sealed class OperatorMetrics : IDisposable
{
    private readonly Meter _meter = new(OperatorTelemetry.Name);

    public OperatorMetrics(Informer<VirtualMachineInstance> vmis, Informer<VirtualMachineInstanceMigration> migrations)
    {
        _meter.CreateObservableGauge("podvisor_vmi_phase_count", () => vmis.List()
            .GroupBy(v => (Phase: (v.Status?.Phase ?? VmiPhases.Pending).ToLowerInvariant(), Node: v.Status?.NodeName ?? ""))
            .Select(g => new Measurement<long>(g.Count(), new("phase", g.Key.Phase), new("node", g.Key.Node))),
            description: "VirtualMachineInstances by phase and node");

        Measurement<long> InPhases(Func<string?, bool> phase) => new(migrations.List().LongCount(m => phase(m.Status?.Phase)));
        _meter.CreateObservableGauge("podvisor_vmi_migrations_in_pending_phase", () => InPhases(p => p is null or MigrationPhases.Pending),
            description: "Migrations not yet taken up");
        _meter.CreateObservableGauge("podvisor_vmi_migrations_in_scheduling_phase",
            () => InPhases(p => p is MigrationPhases.Scheduling or MigrationPhases.Scheduled or MigrationPhases.PreparingTarget or MigrationPhases.TargetReady),
            description: "Migrations whose target is being placed and prepared");
        _meter.CreateObservableGauge("podvisor_vmi_migrations_in_running_phase", () => InPhases(p => p == MigrationPhases.Running),
            description: "Migrations sending memory");
        _meter.CreateObservableGauge("podvisor_vmi_migration_succeeded", () => InPhases(p => p == MigrationPhases.Succeeded),
            description: "Migrations that succeeded (as long as their objects exist)");
        _meter.CreateObservableGauge("podvisor_vmi_migration_failed", () => InPhases(p => p == MigrationPhases.Failed),
            description: "Migrations that failed (as long as their objects exist)");

        IEnumerable<Measurement<long>> Running(Func<VirtualMachineInstanceMigrationStatus, long?> value) => migrations.List()
            .Where(m => m.Status is { Phase: MigrationPhases.Running } && value(m.Status) is not null)
            .Select(m => new Measurement<long>(value(m.Status!)!.Value,
                new("namespace", m.Metadata.NamespaceProperty), new("name", m.Spec.VmiName), new("migration", m.Metadata.Name)));
        _meter.CreateObservableGauge("podvisor_vmi_migration_data_processed_bytes", () => Running(s => s.BytesTransferred), "By",
            "Bytes a running migration has sent so far");
        _meter.CreateObservableGauge("podvisor_vmi_migration_data_remaining_bytes", () => Running(s => s.RemainingBytes), "By",
            "Bytes a running migration still has to send, as last reported");
    }

    public void Dispose() => _meter.Dispose();
}
