using System.Diagnostics;
using System.Text.Json;
using k8s;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Testing;

namespace Podvisor.Operator.Tests;

/// <summary>The operator as a process (what the Deployment runs), against the real API server.</summary>
public sealed class OperatorProcessTests(CrdApiServerFixture fixture) : IClassFixture<CrdApiServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Process StartOperator(string identity, Action<string>? onLine = null) => OperatorProcess.Start(fixture.Server, identity, onLine);

    private async Task<bool> VmiExists(string ns, string name)
    {
        try
        {
            await fixture.Client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstances", name, Ct);
            return true;
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    private static async Task Eventually(Func<Task<bool>> condition, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out after {within.TotalSeconds} s waiting for {what}");
            await Task.Delay(100, Ct);
        }
    }

    private static (int ExitCode, string Output) RunToExit(string[] arguments)
    {
        var output = new System.Text.StringBuilder();
        // Outside any cluster: no kubeconfig from the environment, no in-cluster service variables.
        using var process = OperatorProcess.Start(arguments, new Dictionary<string, string> { ["KUBECONFIG"] = "", ["KUBERNETES_SERVICE_HOST"] = "" },
            line => { lock (output) output.AppendLine(line); });
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "the operator should have stopped at once");
        process.WaitForExit();
        lock (output) return (process.ExitCode, output.ToString());
    }

    [Fact]
    public void BadArgumentsAndNoClusterStopItAtOnceSayingWhy()
    {
        var (code, output) = RunToExit(["--kubeconfig", "/k", "--bogus", "x"]);
        Assert.Equal(2, code);
        Assert.Contains("unknown argument \"--bogus\"", output);
        (code, output) = RunToExit(["--identity"]);
        Assert.Equal(2, code);
        Assert.Contains("--identity needs a value", output);
        (code, output) = RunToExit(["--kubeconfig", "/nonexistent/kubeconfig"]);
        Assert.Equal(2, code);
        Assert.Contains("kubeconfig /nonexistent/kubeconfig:", output);
        (code, output) = RunToExit([]);
        Assert.Equal(2, code);
        Assert.Contains("no cluster to run against", output);
        Assert.Contains("give --kubeconfig FILE", output);
        Assert.DoesNotContain("   at ", output);                       // an error, not a crash
    }

    [Fact]
    public async Task TwoReplicasOneActsAndTheOtherTakesOverWhenItIsKilled()
    {
        const string ns = "op-process";
        await fixture.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = ns } }, cancellationToken: Ct);
        // Each replica's lines, timed from the leader's death: a slow takeover says which step was slow.
        var clock = Stopwatch.StartNew();
        var killedAt = TimeSpan.Zero;
        var logs = new Dictionary<string, List<string>> { ["replica-a"] = [], ["replica-b"] = [] };
        Action<string> Record(string identity) => line =>
        {
            lock (logs) logs[identity].Add($"{(clock.Elapsed - killedAt).TotalSeconds,6:0.0} s {line}");
        };
        var a = StartOperator("replica-a", Record("replica-a"));
        var b = StartOperator("replica-b", Record("replica-b"));
        try
        {
            await fixture.Client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToElement(new VirtualMachine
            {
                Metadata = new() { Name = "vm1", NamespaceProperty = ns },
                Spec = new()
                {
                    RunStrategy = RunStrategies.Always,
                    Template = new() { Spec = new() { Domain = new() { Memory = new() { Guest = "128Mi" }, Firmware = new() { KernelBoot = new() { HostPath = new() { KernelPath = "/k" } } } } } },
                },
            }, ApiJsonContext.Default.VirtualMachine), ApiGroup.Group, ApiGroup.Version, ns, "virtualmachines", cancellationToken: Ct);
            await Eventually(() => VmiExists(ns, "vm1"), TimeSpan.FromSeconds(60), "the leader to create the instance");

            var lease = await fixture.Client.CoordinationV1.ReadNamespacedLeaseAsync("podvisor-operator", "default", cancellationToken: Ct);
            var (leader, other) = lease.Spec.HolderIdentity == "replica-a" ? (a, b) : (b, a);
            string survivor = lease.Spec.HolderIdentity == "replica-a" ? "replica-b" : "replica-a";
            lock (logs) killedAt = clock.Elapsed;
            leader.Kill(entireProcessTree: true);                       // no graceful release: a crash
            var killed = Stopwatch.StartNew();

            await fixture.Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec":{"runStrategy":"Halted"}}""", V1Patch.PatchType.MergePatch),
                ApiGroup.Group, ApiGroup.Version, ns, "virtualmachines", "vm1", cancellationToken: Ct);
            await Eventually(async () => !await VmiExists(ns, "vm1"), TimeSpan.FromSeconds(30), "the other replica to act");
            TestContext.Current.SendDiagnosticMessage($"the surviving replica acted {killed.Elapsed.TotalSeconds:0.0} s after the leader was killed");
            string survivorLog;
            lock (logs) survivorLog = string.Join("\n", logs[survivor].TakeLast(40));
            Assert.True(killed.Elapsed < TimeSpan.FromSeconds(20), $"{killed.Elapsed.TotalSeconds:0.0} s; {survivor}'s lines (seconds since the kill):\n{survivorLog}");
            Assert.False(other.HasExited);
        }
        finally
        {
            foreach (var p in new[] { a, b })
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                p.Dispose();
            }
        }
    }
}
