using k8s;
using Podvisor.Api;

namespace Podvisor.Cli.Tests;

/// <summary><c>podvisor list</c> and <c>status</c> against the real API server: tables and details from what the operator
/// and launchers wrote.</summary>
public sealed class ListAndStatusCommandTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private Podvisor.Result Cli(params string[] args) => Podvisor.Run([.. args, "--kubeconfig", cluster.Server.KubeconfigPath], native: true);

    private async Task NamespaceAsync(string name) =>
        await cluster.Client.CoreV1.CreateNamespaceAsync(new k8s.Models.V1Namespace { Metadata = new() { Name = name } }, cancellationToken: TestContext.Current.CancellationToken);

    [Fact]
    public async Task ListShowsEachVmWithItsStatusNodeAndAddressAndInstancesWithoutAVm()
    {
        await NamespaceAsync("shop");
        await NamespaceAsync("empty");
        var web = await cluster.CreateVmAsync("web", "runStrategy: Always", ns: "shop");
        await cluster.UpdateVmStatusAsync(web, s => { s.PrintableStatus = PrintableStatuses.Running; s.Ready = true; });
        await cluster.CreateRunningVmiAsync("web", node: "node-a", ns: "shop", ip: "10.244.1.5");
        var db = await cluster.CreateVmAsync("db", "runStrategy: Halted", ns: "shop");
        await cluster.UpdateVmStatusAsync(db, s => s.PrintableStatus = PrintableStatuses.Stopped);
        await cluster.CreateRunningVmiAsync("scratch", node: "node-b", ns: "shop", ip: "10.244.2.9");

        var list = Cli("list", "-n", "shop");
        Assert.True(list.ExitCode == 0, list.Stderr);
        var lines = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.RegularExpressions.Regex.Split(l, " {2,}")).ToList();
        Assert.Equal(["NAME", "STATUS", "READY", "NODE", "IP", "AGE"], lines[0]);
        Assert.Equal(["db", "Stopped", "False"], lines[1][..3]);
        Assert.Equal(["web", "Running", "True", "node-a", "10.244.1.5"], lines[2][..5]);
        Assert.Equal(["scratch", "Running (instance only)", "True", "node-b", "10.244.2.9"], lines[3][..5]);
        Assert.Matches(@"^\d+s$", lines[2][5]);
        // Columns line up: each header starts where its cells do.
        var raw = list.Stdout.Split('\n');
        Assert.Equal(raw[0].IndexOf("STATUS"), raw[2].IndexOf("Running"));

        var everywhere = Cli("list", "-A");
        Assert.Contains(everywhere.Stdout.Split('\n'), l => l.StartsWith("shop") && l.Contains("web") && l.Contains("10.244.1.5"));
        Assert.StartsWith("NAMESPACE", everywhere.Stdout);

        var none = Cli("list", "-n", "empty");
        Assert.Equal(0, none.ExitCode);
        Assert.Equal("No VMs in namespace empty.\n", none.Stderr);
    }

    [Fact]
    public async Task StatusShowsTheInstanceItsConditionsAndTheLastMigration()
    {
        var vm = await cluster.CreateVmAsync("api", "runStrategy: Always");
        await cluster.UpdateVmStatusAsync(vm, s => { s.PrintableStatus = PrintableStatuses.Running; s.Ready = true; });
        var vmi = await cluster.CreateRunningVmiAsync("api", node: "node-b", ip: "10.244.3.3");
        await cluster.UpdateVmiStatusAsync(vmi, s => s.MigrationState = new MigrationState
        {
            MigrationUid = "m1", SourceNode = "node-a", TargetNode = "node-b", Completed = true,
            StartTimestamp = new DateTimeOffset(2026, 11, 27, 9, 0, 0, TimeSpan.Zero), EndTimestamp = new DateTimeOffset(2026, 11, 27, 9, 0, 5, TimeSpan.Zero),
        });

        var status = Cli("status", "api");
        Assert.True(status.ExitCode == 0, status.Stderr);
        string[] expected =
        [
            "Name:", "api", "Namespace:", "default", "Status:", "Running", "Run strategy:", "Always", "Ready:", "True", "Instance:", "Running",
            "Node:", "node-b", "Interface default:", "10.244.3.3 52:54:00:12:34:56", "Condition Ready:", "True",
            "Last migration:", "node-a -> node-b succeeded, ended 2026-11-27 09:00:05Z",
        ];
        foreach (string part in expected) Assert.Contains(part, status.Stdout);

        var missing = Cli("status", "nothing-here");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no VM nothing-here in namespace default", missing.Stderr);
    }
}
