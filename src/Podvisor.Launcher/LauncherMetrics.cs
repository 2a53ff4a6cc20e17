using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Podvisor.Kvm;

namespace Podvisor.Launcher;

/// <summary>
/// One VM's metrics, read from the launcher at each collection (KubeVirt's per-VMI names, prefixed podvisor_; labels
/// namespace, name, node): <c>podvisor_vmi_memory_domain_bytes</c> (guest RAM configured),
/// <c>podvisor_vmi_memory_resident_bytes</c> (the launcher's RSS), <c>podvisor_vmi_memory_guest_resident_bytes</c> (guest
/// RAM the host backs), <c>podvisor_vmi_vmm_memory_overhead_bytes</c> (what the VMM costs beyond the guest's RAM),
/// <c>podvisor_vmi_vcpu_exits_total{reason}</c> and <c>podvisor_vmi_boot_time_seconds</c>.
/// </summary>
public sealed class LauncherMetrics : IDisposable
{
    private static readonly TimeSpan SnapshotLifetime = TimeSpan.FromSeconds(1);

    private readonly Meter _meter = new(LauncherTelemetry.Name);
    private readonly Func<VmUsage> _usage;
    private readonly KeyValuePair<string, object?>[] _labels;
    private readonly Lock _lock = new();
    private Reading? _snapshot;

    /// <summary>The VM's usage and the process's RSS, read together at <see cref="Taken"/> (a Stopwatch timestamp).</summary>
    private readonly record struct Reading(VmUsage Usage, ulong Rss, long Taken);

    public LauncherMetrics(Func<VmUsage> usage, string vmiNamespace, string vmiName, string? node)
    {
        _usage = usage;
        _labels = [new("namespace", vmiNamespace), new("name", vmiName), new("node", node ?? "")];
        _meter.CreateObservableGauge("podvisor_vmi_memory_domain_bytes", () => Measure(s => (long)s.Usage.GuestMemoryBytes), "By",
            "The guest's RAM as configured");
        _meter.CreateObservableGauge("podvisor_vmi_memory_resident_bytes", () => Measure(s => (long)s.Rss), "By",
            "Resident set size of the launcher process running the VM (guest RAM included)");
        _meter.CreateObservableGauge("podvisor_vmi_memory_guest_resident_bytes", () => MeasureGuest(s => (long)s.Usage.Guest!.ResidentBytes), "By",
            "Guest RAM the host backs now (pages the guest has touched and not given back)");
        _meter.CreateObservableGauge("podvisor_vmi_vmm_memory_overhead_bytes", () => MeasureGuest(Overhead), "By",
            "Memory the VMM itself uses: the launcher's RSS minus the guest RAM in it");
        _meter.CreateObservableCounter("podvisor_vmi_vcpu_exits", ExitCounts, description: "vCPU exits to the VMM, by KVM exit reason");
        _meter.CreateObservableGauge("podvisor_vmi_boot_time_seconds", BootTime, "s", "From the VMM's start to the guest's init marking its boot");
    }

    /// <summary>The instruments' meter (a test's listener picks this launcher's out of the process's).</summary>
    internal Meter Meter => _meter;

    private static long Overhead(Reading s) =>
        (long)s.Rss - (s.Usage.Guest!.InProcessRss ? (long)s.Usage.Guest.ResidentBytes : 0);

    /// <summary>One reading for every instrument of a collection (the guest's residency walks all its pages).</summary>
    private Reading Snapshot()
    {
        lock (_lock)
        {
            if (_snapshot is { } s && Stopwatch.GetElapsedTime(s.Taken) < SnapshotLifetime) return s;
            var fresh = new Reading(_usage(), ProcessRss(), Stopwatch.GetTimestamp());
            _snapshot = fresh;
            return fresh;
        }
    }

    private Measurement<long> Measure(Func<Reading, long> value) => new(value(Snapshot()), _labels);

    private IEnumerable<Measurement<long>> MeasureGuest(Func<Reading, long> value)
    {
        var s = Snapshot();
        return s.Usage.Guest is null ? [] : [new Measurement<long>(value(s), _labels)];
    }

    private IEnumerable<Measurement<long>> ExitCounts() =>
        Snapshot().Usage.Exits.Select(e => new Measurement<long>(e.Value, [.. _labels, new("reason", ReasonLabel(e.Key))]));

    private IEnumerable<Measurement<double>> BootTime() =>
        Snapshot().Usage.BootTimeMs is { } ms ? [new Measurement<double>(ms / 1000, _labels)] : [];

    /// <summary>Prometheus style: <c>IrqWindowOpen</c> → <c>irq_window_open</c>.</summary>
    public static string ReasonLabel(VcpuExitReason reason)
    {
        string name = reason.ToString();
        var label = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0 && !char.IsUpper(name[i - 1])) label.Append('_');
            label.Append(char.ToLowerInvariant(name[i]));
        }
        return label.ToString();
    }

    /// <summary>This process's resident set (/proc/self/statm, in pages).</summary>
    private static ulong ProcessRss()
    {
        string[] fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return ulong.Parse(fields[1], CultureInfo.InvariantCulture) * (ulong)Environment.SystemPageSize;
    }

    public void Dispose() => _meter.Dispose();
}
