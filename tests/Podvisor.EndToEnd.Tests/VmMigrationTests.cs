using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using k8s;
using Podvisor.Api;
using Podvisor.Api.Control;
using Podvisor.EmulatedHost;
using Podvisor.Testing;

namespace Podvisor.EndToEnd.Tests;

/// <summary>
/// Live migration end to end, every part real but the kubelet: examples/vm-live-migration.yaml applied with kubectl,
/// the guest counting on its console and reaching its gateway, examples/migration.yaml applied, the operator moving it
/// between two launcher pods on two nodes (each its own network namespace: the source reaches the target at its pod
/// IP, mutual TLS), and the guest counting on at the target without a reboot (full KVM: inside the emulated host here).
/// </summary>
[Trait("Category", "FullKvm")]
public sealed partial class VmMigrationTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(5);
    private const string Vm = "microvm-live";                // examples/vm-live-migration.yaml
    private static string SharedGuest(string file) => Path.GetFullPath(Path.Combine(Repository.Root, "..", "shared", "guest", file));
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static int[] Counts(string console) => [.. Count().Matches(console).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))];

    [Fact]
    public async Task AVmMovesToAnotherNodeWhileItRunsAndCountsOnThere()
    {
        const string ns = "e2e-migrate";
        await using var cluster = await LocalCluster.StartAsync(ns, claimFolder: null, Ct, nodes: ["node-a", "node-b"]);
        var client = cluster.Client;
        // The guest: a marker, its address by DHCP, then a count each second, each followed by whether its gateway answers.
        string guest = Directory.CreateDirectory(Path.Combine(cluster.Storage, "guest")).FullName;
        File.Copy(SharedGuest("bzImage"), Path.Combine(guest, "bzImage"));
        CpioArchive.Extend(SharedGuest("initrd.gz"), Path.Combine(guest, "initrd.gz"), [("etc/guest-run", Encoding.UTF8.GetBytes("""
            echo E2E-LIVE-UP
            cat > /tmp/lease.sh <<'EOF'
            #!/bin/sh
            [ "$1" = bound ] || exit 0
            ifconfig $interface $ip netmask $subnet up
            ip route add default via $router
            EOF
            chmod +x /tmp/lease.sh
            ip link set eth0 up
            udhcpc -i eth0 -s /tmp/lease.sh -q -n -t 30 -T 1 >/dev/null 2>&1
            (i=0; while true; do i=$((i+1)); echo "E2E-COUNT $i"; ping -c 1 -W 1 10.0.2.1 >/dev/null 2>&1 && echo "E2E-NET $i"; sleep 1; done) &
            """), 0x1ED)]);
        string Example(string file) => File.ReadAllText(Path.Combine(Repository.Root, "examples", file));
        string vmManifest = Path.Combine(cluster.Storage, "vm-live-migration.yaml"), migrationManifest = Path.Combine(cluster.Storage, "migration.yaml");
        File.WriteAllText(vmManifest, Example("vm-live-migration.yaml").Replace("/var/lib/podvisor/guest/", guest + "/"));
        File.WriteAllText(migrationManifest, Example("migration.yaml"));
        var launchers = cluster.Launchers;

        Assert.Contains($"virtualmachine.podvisor.io/{Vm} created", await Kubectl.RunAsync(cluster.Server.KubeconfigPath, ["apply", "-n", ns, "-f", vmManifest], Ct));
        var before = await cluster.Eventually(() => cluster.Vmi(ns, Vm, Ct), v => v?.Status?.Phase == VmiPhases.Running, "the VMI Running", Patience, Ct);
        Assert.Equal("node-a", before!.Status!.NodeName);
        var source = Assert.Single((await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items);
        await cluster.Eventually(() => Task.FromResult(launchers.ConsoleOf(source)), c => c.Contains("E2E-NET 3", StringComparison.Ordinal),
            "the guest counting and reaching its gateway", Patience, Ct);

        // Paused with the CLI (the operator has the launcher stop every vCPU): the count stops — one may have been on its
        // way out — and the VM says Paused; unpaused, the count goes on.
        async Task<string> Cli(params string[] args)
        {
            var (exit, output, errors) = await PodvisorCli.RunAsync([.. args, "-n", ns, "--kubeconfig", cluster.Server.KubeconfigPath], TimeSpan.FromMinutes(2), Ct);
            Assert.True(exit == 0, $"podvisor {string.Join(' ', args)}: exit {exit}: {errors}\n{cluster.Diagnostics()}");
            return output;
        }
        Assert.Equal($"VM {ns}/{Vm} was paused\n", await Cli("pause", Vm));
        int atPause = Counts(launchers.ConsoleOf(source)).Max();
        await cluster.Eventually(() => cluster.Vm(ns, Vm, Ct), v => v?.Status?.PrintableStatus == PrintableStatuses.Paused, "the VM Paused", Patience, Ct);
        await Task.Delay(3000, Ct);
        Assert.True(Counts(launchers.ConsoleOf(source)).Max() <= atPause + 1, $"the guest counted on while paused:\n{launchers.ConsoleOf(source)}");
        Assert.Matches(@"\nStatus: +Paused\n", await Cli("status", Vm));
        Assert.Equal($"VM {ns}/{Vm} was unpaused\n", await Cli("unpause", Vm));
        await cluster.Eventually(() => Task.FromResult(launchers.ConsoleOf(source)), c => Counts(c).Max() > atPause + 2, "the guest counting again", Patience, Ct);

        Assert.Contains("virtualmachineinstancemigration.podvisor.io/move-microvm-live created",
            await Kubectl.RunAsync(cluster.Server.KubeconfigPath, ["apply", "-n", ns, "-f", migrationManifest], Ct));
        var migration = await cluster.Eventually(() => Migration(cluster, ns, "move-microvm-live"),
            m => m?.Status?.Phase is MigrationPhases.Succeeded or MigrationPhases.Failed, "the migration to end", 2 * Patience, Ct);
        Assert.True(migration!.Status!.Phase == MigrationPhases.Succeeded,
            $"{JsonSerializer.Serialize(migration.Status, ApiJsonContext.Default.VirtualMachineInstanceMigrationStatus)}\n{cluster.Diagnostics()}");
        Assert.True(migration.Status.DowntimeMilliseconds > 0 && migration.Status.BytesTransferred > 0 && migration.Status.Iterations >= 1);
        var times = migration.Status.PhaseTransitionTimestamps!;
        TestContext.Current.TestOutputHelper?.WriteLine($"migrated: downtime {migration.Status.DowntimeMilliseconds:0} ms, {migration.Status.BytesTransferred >> 20} MiB in " +
            $"{migration.Status.Iterations} round(s); phases {string.Join(", ", times.Select(t => $"{t.Phase} {(t.PhaseTransitionTimestamp - times[0].PhaseTransitionTimestamp).TotalSeconds:0} s"))}");

        // The VMI is on node-b, its pod the target; the guest kept its MAC (and, behind masquerade, its address).
        var after = await cluster.Eventually(() => cluster.Vmi(ns, Vm, Ct), v => v?.Status?.NodeName == "node-b" && v.Status.Interfaces is { Count: 1 },
            "the VMI on node-b", Patience, Ct);
        var state = after!.Status!.MigrationState!;
        Assert.Equal((true, "node-a", "node-b", source.Metadata.Name), (state.Completed, state.SourceNode, state.TargetNode, state.SourcePod));
        Assert.Equal(VmiPhases.Running, after.Status.Phase);
        var target = await client.CoreV1.ReadNamespacedPodAsync(state.TargetPod, ns, cancellationToken: Ct);
        Assert.Equal((target.Status.PodIP, before.Status.Interfaces![0].Mac), (after.Status.Interfaces![0].IpAddress, after.Status.Interfaces[0].Mac));

        // The source handed over and ended cleanly, saying what it measured.
        var ended = await cluster.Eventually(() => client.CoreV1.ReadNamespacedPodAsync(source.Metadata.Name, ns, cancellationToken: Ct), p => p.Status.Phase == "Succeeded",
            "the source pod Succeeded", Patience, Ct);
        var report = JsonSerializer.Deserialize(ended.Status.ContainerStatuses[0].State.Terminated.Message, ControlApiJson.Default.LauncherMigrationStatus)!;
        Assert.Equal((LauncherMigrationPhases.Completed, true), (report.Phase, report.HandedOver));

        // The guest counts on at the target where it stopped at the source — no reboot — and reaches its gateway there.
        int last = Counts(launchers.ConsoleOf(source)).Max();
        await cluster.Eventually(() => Task.FromResult(launchers.ConsoleOf(target)), c => Counts(c) is { Length: > 3 },
            "the guest counting at the target", Patience, Ct);
        string there = launchers.ConsoleOf(target);
        int first = Counts(there).Min();
        Assert.True(first > last && first <= last + 2, $"the count went from {last} at the source to {first} at the target:\n{there}");
        TestContext.Current.TestOutputHelper?.WriteLine($"the guest counted to {last} at the source and on from {first} at the target");
        Assert.DoesNotContain("E2E-LIVE-UP", there);
        await cluster.Eventually(() => Task.FromResult(launchers.ConsoleOf(target)), c => Regex.Matches(c, @"E2E-NET (\d+)").Any(m => int.Parse(m.Groups[1].Value) > last),
            "the guest reaching its gateway from the target", Patience, Ct);
        Assert.Empty(cluster.Nodes.Errors);
        Assert.Contains("node-a -> node-b succeeded", await Cli("status", Vm));

        Assert.Contains($"virtualmachine.podvisor.io \"{Vm}\" deleted", await Kubectl.RunAsync(cluster.Server.KubeconfigPath, ["delete", "-n", ns, "-f", vmManifest, "--wait=false"], Ct));
        await cluster.Eventually(async () => (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.Count, n => n == 0, "the launcher pods gone", Patience, Ct);
        Assert.Equal(0, launchers.Running);
        Assert.All(cluster.OperatorExits, why => Assert.Equal("lost the lease", why));
    }

    private static async Task<VirtualMachineInstanceMigration?> Migration(LocalCluster cluster, string ns, string name)
    {
        try
        {
            var json = (JsonElement)await cluster.Client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstancemigrations",
                name, cancellationToken: Ct);
            return json.Deserialize(ApiJsonContext.Default.VirtualMachineInstanceMigration);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    [GeneratedRegex(@"E2E-COUNT (\d+)")]
    private static partial Regex Count();
}
