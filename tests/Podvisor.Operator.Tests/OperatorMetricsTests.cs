using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Operator.Runtime;
using Podvisor.Testing;

namespace Podvisor.Operator.Tests;

/// <summary>
/// The operator's metrics: scraped from the operator process's Prometheus endpoint as a VM starts, runs and stops
/// (the values follow it), and a running migration's bytes as the migration controller reports them.
/// </summary>
public sealed class OperatorMetricsTests(CrdApiServerFixture fixture) : IClassFixture<CrdApiServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly Cluster _cluster = new(fixture.Client);


    private static async Task<List<PrometheusSample>> ScrapeUntil(HttpClient http, string url, Func<List<PrometheusSample>, bool> condition, string what, Func<string> diagnostics)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await http.GetStringAsync(url, Ct);
                var samples = PrometheusText.Parse(last);
                if (condition(samples)) return samples;
            }
            catch (HttpRequestException) { }                            // not listening yet
            await Task.Delay(200, Ct);
        }
        Assert.Fail($"timed out waiting for {what} at {url}; last scrape:\n{last}\noperator:\n{diagnostics()}");
        return [];
    }

    private static double? Value(List<PrometheusSample> samples, string name, params (string Key, string Value)[] labels) => PrometheusText.Value(samples, name, labels);

    [Fact]
    public async Task TheScrapeEndpointFollowsAVmThroughItsLife()
    {
        string ns = await _cluster.Namespace("metrics-life");
        await using var nodes = await FakeNodes.StartAsync(fixture.Client, LauncherLabels.Selector, [("metrics-node", null)], ns, cancellationToken: Ct);
        int port = LoopbackPorts.Free();
        var log = new System.Text.StringBuilder();
        using var process = OperatorProcess.Start(["--kubeconfig", fixture.Server.KubeconfigPath, "--lease-namespace", "default", "--identity", "metrics",
            "--metrics-port", port.ToString(CultureInfo.InvariantCulture)], environment: null, line => { lock (log) log.AppendLine(line); });
        string Log() { lock (log) return log.ToString(); }
        using var http = new HttpClient();
        string url = $"http://127.0.0.1:{port}/metrics";
        try
        {
            await ScrapeUntil(http, url, s => Value(s, "podvisor_operator_leading_status") == 1, "the operator leading", Log);

            await _cluster.CreateVm(ns, "web", RunStrategies.Always);
            var running = await ScrapeUntil(http, url, s => Value(s, "podvisor_vmi_phase_count", ("phase", "running"), ("node", "metrics-node")) == 1,
                "one running VMI on metrics-node", Log);
            Assert.True(Value(running, "podvisor_operator_reconcile_total", ("controller", "virtualmachineinstance"), ("result", "success")) >= 1);
            Assert.Contains(running, s => s.Name == "podvisor_operator_reconcile_duration_seconds_count" && s.Labels["controller"] == "virtualmachine");

            await fixture.Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec":{"runStrategy":"Halted"}}""", V1Patch.PatchType.MergePatch),
                ApiGroup.Group, ApiGroup.Version, ns, "virtualmachines", "web", cancellationToken: Ct);
            await ScrapeUntil(http, url, s => (Value(s, "podvisor_vmi_phase_count", ("phase", "running"), ("node", "metrics-node")) ?? 0) == 0,
                "no running VMI once the VM is halted", Log);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(Ct);
        }
    }

    [Fact]
    public async Task ARunningMigrationsBytesAreMeasuredAsTheSourceReportsThem()
    {
        string ns = await _cluster.Namespace("metrics-migrate");
        await using var nodes = await _cluster.TwoNodes(ns);
        var launchers = new FakeLaunchers();
        await using var op = new InProcessOperator(fixture.Client, launchers: launchers);
        await _cluster.CreateVmi(ns, "db");
        await Cluster.Eventually(() => _cluster.Vmi(ns, "db"), v => v?.Status?.Phase == VmiPhases.Running, "VMI db Running");
        await fixture.Client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToElement(new VirtualMachineInstanceMigration
        {
            Metadata = new() { Name = "move", NamespaceProperty = ns },
            Spec = new() { VmiName = "db" },
        }, ApiJsonContext.Default.VirtualMachineInstanceMigration), ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstancemigrations", cancellationToken: Ct);

        // Read as a Prometheus scrape would: every observable instrument of the operator's meters, filtered to this test's objects.
        var measured = new ConcurrentDictionary<(string Instrument, string? Namespace, string? Migration, string? Node, string? Phase), long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) => { if (instrument.Meter.Name == OperatorTelemetry.Name) l.EnableMeasurementEvents(instrument); };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var named = new Dictionary<string, string?>();
            foreach (var tag in tags) named[tag.Key] = tag.Value?.ToString();
            measured[(instrument.Name, named.GetValueOrDefault("namespace"), named.GetValueOrDefault("migration"), named.GetValueOrDefault("node"),
                named.GetValueOrDefault("phase"))] = value;
        });
        listener.Start();
        long? Read(string instrument, string? node = null, string? phase = null)
        {
            measured.Clear();
            listener.RecordObservableInstruments();
            return measured.TryGetValue((instrument, node is null ? ns : null, node is null ? "move" : null, node, phase), out long v) ? v : null;
        }
        await Cluster.Eventually(() => Task.FromResult(Read("podvisor_vmi_migration_data_processed_bytes")), v => v == 1 << 20, "1 MiB sent, measured");
        Assert.Equal(3L << 20, Read("podvisor_vmi_migration_data_remaining_bytes"));
        Assert.Equal(1, Read("podvisor_vmi_phase_count", node: $"{ns}-a", phase: "running"));
    }
}
