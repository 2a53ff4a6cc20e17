using System.Diagnostics.Metrics;
using Podvisor.Kvm;

namespace Podvisor.Launcher.Tests;

public sealed class LauncherMetricsTests
{
    private sealed record Sample(string Name, double Value, Dictionary<string, string> Labels);

    /// <summary>One collection of the metrics' instruments, as an exporter makes it.</summary>
    private static List<Sample> Collect(LauncherMetrics metrics)
    {
        var samples = new List<Sample>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) => { if (instrument.Meter == metrics.Meter) l.EnableMeasurementEvents(instrument); },
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
            samples.Add(new Sample(instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value?.ToString() ?? "")));
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.Start();
        listener.RecordObservableInstruments();
        return samples;
    }

    private static double Value(List<Sample> samples, string name) => samples.Single(s => s.Name == name).Value;

    [Fact]
    public void TheVmsMemoryExitsAndBootTimeAreMeasuredWithItsLabels()
    {
        var exits = new Dictionary<VcpuExitReason, long> { [VcpuExitReason.Io] = 1200, [VcpuExitReason.Mmio] = 300, [VcpuExitReason.IrqWindowOpen] = 7 };
        using var metrics = new LauncherMetrics(() => new VmUsage(256UL << 20, exits, new GuestResidency(40UL << 20, InProcessRss: true), 812.5),
            "prod", "web", "node-1");
        var samples = Collect(metrics);

        Assert.All(samples, s => Assert.Equal(("prod", "web", "node-1"), (s.Labels["namespace"], s.Labels["name"], s.Labels["node"])));
        Assert.Equal(256 << 20, Value(samples, "podvisor_vmi_memory_domain_bytes"));
        Assert.Equal(40 << 20, Value(samples, "podvisor_vmi_memory_guest_resident_bytes"));
        double rss = Value(samples, "podvisor_vmi_memory_resident_bytes");
        Assert.Equal(Environment.WorkingSet, rss, tolerance: 64 << 20);         // this process's RSS, from /proc/self/statm
        Assert.Equal(rss - (40 << 20), Value(samples, "podvisor_vmi_vmm_memory_overhead_bytes"));
        Assert.Equal(0.8125, Value(samples, "podvisor_vmi_boot_time_seconds"));
        var exitSamples = samples.Where(s => s.Name == "podvisor_vmi_vcpu_exits").ToDictionary(s => s.Labels["reason"], s => s.Value);
        Assert.Equal(new Dictionary<string, double> { ["io"] = 1200, ["mmio"] = 300, ["irq_window_open"] = 7 }, exitSamples);
    }

    [Fact]
    public void HugepagesAreNotInTheRssSoNothingIsSubtractedForThem()
    {
        using var metrics = new LauncherMetrics(() => new VmUsage(1UL << 30, new Dictionary<VcpuExitReason, long>(), new GuestResidency(1UL << 30, InProcessRss: false), null),
            "default", "vm", null);
        var samples = Collect(metrics);
        Assert.Equal(Value(samples, "podvisor_vmi_memory_resident_bytes"), Value(samples, "podvisor_vmi_vmm_memory_overhead_bytes"));
        Assert.DoesNotContain(samples, s => s.Name == "podvisor_vmi_boot_time_seconds");      // the guest has not marked its boot
        Assert.Equal("", samples[0].Labels["node"]);
    }

    [Fact]
    public void WithoutAVmOnlyWhatIsConfiguredAndTheProcessAreReported()
    {
        // A migration target before the VM arrives, or a launcher between a guest's reboots.
        using var metrics = new LauncherMetrics(() => new VmUsage(128UL << 20, new Dictionary<VcpuExitReason, long>(), null, null), "default", "vm", "n");
        var names = Collect(metrics).Select(s => s.Name).Order();
        Assert.Equal(["podvisor_vmi_memory_domain_bytes", "podvisor_vmi_memory_resident_bytes"], names);
    }

    [Theory]
    [InlineData(VcpuExitReason.Io, "io")]
    [InlineData(VcpuExitReason.IrqWindowOpen, "irq_window_open")]
    [InlineData(VcpuExitReason.X86Rdmsr, "x86_rdmsr")]
    [InlineData(VcpuExitReason.FailEntry, "fail_entry")]
    public void ExitReasonsAreLabelledAsPrometheusNamesThings(VcpuExitReason reason, string label) =>
        Assert.Equal(label, LauncherMetrics.ReasonLabel(reason));
}
