using System.Text;
using System.Text.Json;
using k8s;
using Podvisor.Api;
using Podvisor.EmulatedHost;
using Podvisor.Testing;

namespace Podvisor.EndToEnd.Tests;

/// <summary>
/// A VM manifest from apply to deletion with every part real but the kubelet: the API server, the operator
/// process, and launcher pods run by <see cref="LauncherPods"/> as <c>podvisor-launcher</c> processes that boot
/// the guest (full KVM: inside the emulated host here).
/// </summary>
[Trait("Category", "FullKvm")]
public sealed class VmLifecycleTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(5);
    private const string Vm = "microvm-net";                 // examples/vm-cluster.yaml
    private static string SharedGuest(string file) => Path.GetFullPath(Path.Combine(Repository.Root, "..", "shared", "guest", file));
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AnAppliedVmBootsShowsItsConsoleAndIsGoneWithEverythingItMadeOnceDeleted()
    {
        const string ns = "e2e";
        await using var cluster = await LocalCluster.StartAsync(ns, claimFolder: null, Ct);
        var client = cluster.Client;
        // The guest: a marker, a line from its emptyDisk, its network by DHCP (the launcher's end answers a ping; the
        // DNS server it was given — the node's end of the pod's link here — hears from it, as the pod IP; a listener
        // on the guest is reached through the pod IP), then it waits for the power button and powers off.
        string initrd = Path.Combine(cluster.Storage, "initrd.gz");
        CpioArchive.Extend(SharedGuest("initrd.gz"), initrd, [("etc/guest-run", Encoding.UTF8.GetBytes("""
            echo "E2E-GUEST-UP disk=$(cat /sys/block/vda/size) sectors"
            cat > /tmp/lease.sh <<'EOF'
            #!/bin/sh
            [ "$1" = bound ] || exit 0
            ifconfig $interface $ip netmask $subnet up
            ip route add default via $router
            echo "ip=$ip router=$router dns=$dns search=$search" > /tmp/lease
            EOF
            chmod +x /tmp/lease.sh
            ip link set eth0 up
            udhcpc -i eth0 -s /tmp/lease.sh -q -n -t 30 -T 1 -O search >/dev/null 2>&1
            echo "E2E-GUEST-LEASE $(cat /tmp/lease)"
            ping -c 1 -W 10 10.0.2.1 >/dev/null && echo E2E-GUEST-REACHED-THE-LAUNCHER
            dns=$(sed -n 's/.* dns=\([^ ]*\).*/\1/p' /tmp/lease)
            for i in $(seq 1 120); do r=$(echo e2e-guest-calling | nc $dns 7001) && [ -n "$r" ] && break; sleep 1; done
            echo "E2E-GUEST-HEARD $r"
            nc -l -p 7002 > /tmp/in; echo "E2E-GUEST-INBOUND $(cat /tmp/in)"
            (while read -r n _ < /sys/firmware/acpi/interrupts/ff_pwr_btn && [ "$n" = 0 ]; do sleep 0.2; done
             echo E2E-GUEST-SHUTTING-DOWN; poweroff -f) &
            """), 0x1ED)]);                // then init gives the console a shell (guest.mode=shell)
        // examples/vm-cluster.yaml, applied with kubectl as a user would: only its node folder for the guest kernel
        // (/var/lib/podvisor/guest) is pointed at this test's copy, which holds the initramfs with the script above.
        string guest = Directory.CreateDirectory(Path.Combine(cluster.Storage, "guest")).FullName;
        File.Copy(SharedGuest("bzImage"), Path.Combine(guest, "bzImage"));
        File.Move(initrd, Path.Combine(guest, "initrd.gz"));
        string manifest = Path.Combine(cluster.Storage, "vm-cluster.yaml");
        string example = File.ReadAllText(Path.Combine(Repository.Root, "examples", "vm-cluster.yaml"));
        Assert.Contains("/var/lib/podvisor/guest/", example);
        File.WriteAllText(manifest, example.Replace("/var/lib/podvisor/guest/", guest + "/"));
        var launchers = cluster.Launchers;

        string applied = await Kubectl.RunAsync(cluster.Server.KubeconfigPath, ["apply", "-n", ns, "-f", manifest], Ct);
        Assert.Contains($"virtualmachine.podvisor.io/{Vm} created", applied);

        var vmi = await cluster.Eventually(() => cluster.Vmi(ns, Vm, Ct), v => v?.Status?.Phase == VmiPhases.Running,
            "the VMI Running (its launcher's /readyz answering)", Patience, Ct);
        Assert.Equal("node-a", vmi!.Status!.NodeName);
        await cluster.Eventually(() => Task.FromResult(launchers.Console(ns, Vm)), c => c.Contains("E2E-GUEST-UP", StringComparison.Ordinal),
            "the guest's marker on its console", Patience, Ct);
        Assert.Contains("E2E-GUEST-UP disk=16384 sectors", launchers.Console(ns, Vm));       // the 8 MiB emptyDisk
        var pod = Assert.Single((await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items);
        string podFolder = launchers.PodFolder(pod), podNetwork = launchers.NetworkNamespaceOf(pod);
        Assert.Contains(podNetwork, await LocalCluster.NetworkNamespacesAsync(Ct));
        Assert.True(File.Exists(Path.Combine(podFolder, "var/run/podvisor/volumes/scratch/disk.img")));

        // The pod network: the VMI reports the guest at the pod IP with its MAC; the guest took its lease by DHCP.
        var nic = Assert.Single(vmi.Status.Interfaces ?? []);
        Assert.Equal(("default", pod.Status.PodIP, GuestMac.Derived(vmi.Metadata.Uid)), (nic.Name, nic.IpAddress, nic.Mac));
        string podIp = pod.Status.PodIP, nodeIp = launchers.NodeAddressOf(pod);
        await cluster.Eventually(() => Task.FromResult(launchers.Console(ns, Vm)), c => c.Contains("E2E-GUEST-LEASE", StringComparison.Ordinal),
            "the guest's DHCP lease", Patience, Ct);
        Assert.Contains($"E2E-GUEST-LEASE ip=10.0.2.2 router=10.0.2.1 dns={nodeIp} search={ns}.svc.cluster.local svc.cluster.local cluster.local",
            launchers.Console(ns, Vm));
        using (var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Parse(nodeIp), 7001))
        {
            listener.Start();
            using var caller = await listener.AcceptTcpClientAsync(Ct).AsTask().WaitAsync(Patience, Ct);
            Assert.Equal(podIp, ((System.Net.IPEndPoint)caller.Client.RemoteEndPoint!).Address.ToString());   // masqueraded
            var stream = caller.GetStream();
            Assert.Equal("e2e-guest-calling", await new StreamReader(stream).ReadLineAsync(Ct));
            await stream.WriteAsync("e2e-node-answering\n"u8.ToArray(), Ct);
        }
        await cluster.Eventually(async () =>
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(System.Net.IPAddress.Parse(podIp), 7002, Ct);
                await client.GetStream().WriteAsync("e2e-via-the-pod-ip\n"u8.ToArray(), Ct);
                client.Client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            }
            catch (System.Net.Sockets.SocketException) { }                    // not listening yet
            return launchers.Console(ns, Vm);
        }, c => c.Contains("E2E-GUEST-INBOUND", StringComparison.Ordinal), "the guest reached through the pod IP", Patience, Ct);
        string console = launchers.Console(ns, Vm);
        Assert.Contains("E2E-GUEST-REACHED-THE-LAUNCHER", console);
        await AttachTheConsoleAsync(cluster, ns);
        Assert.Contains("E2E-GUEST-HEARD e2e-node-answering", console);
        Assert.Contains("E2E-GUEST-INBOUND e2e-via-the-pod-ip", console);
        await ScrapeTheVmsMetricsAsync(pod, vmi);

        Assert.Contains($"virtualmachine.podvisor.io \"{Vm}\" deleted", await Kubectl.RunAsync(cluster.Server.KubeconfigPath, ["delete", "-n", ns, "-f", manifest, "--wait=false"], Ct));
        await cluster.Eventually(async () => (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.Count, n => n == 0,
            "the launcher pod gone", Patience, Ct);
        await cluster.Eventually(() => cluster.Vmi(ns, Vm, Ct), v => v is null, "the VMI gone", Patience, Ct);
        await cluster.Eventually(async () => (await client.CoreV1.ListNamespacedSecretAsync(ns, cancellationToken: Ct)).Items
            .Count(s => s.Metadata.Name.StartsWith("podvisor-control-", StringComparison.Ordinal)), n => n == 0, "the control Secret gone", Patience, Ct);
        // Asked, not pulled: the guest heard the power button and powered off before the grace period ran out.
        Assert.Contains("E2E-GUEST-SHUTTING-DOWN", launchers.Console(ns, Vm));
        Assert.Contains("stopped: GuestPowerOff", launchers.Logs());
        Assert.Equal(0, launchers.Running);
        Assert.False(Directory.Exists(podFolder));                                              // its emptyDisk with it
        Assert.Empty(cluster.Nodes.Errors);
        Assert.DoesNotContain(podNetwork, await LocalCluster.NetworkNamespacesAsync(Ct));                                 // its network (and TAP) too
        Assert.All(cluster.OperatorExits, why => Assert.Equal("lost the lease", why));           // restarts, never a crash
    }

    /// <summary>
    /// The VM's metrics as Prometheus finds them (the pod's annotations name the port, at the pod IP): the guest's RAM,
    /// its exits, labelled with the VMI and node; and what the VMM costs beyond the guest's RAM fits the overhead the
    /// operator added to the pod's memory request (held to the native launcher, the one the image ships).
    /// </summary>
    private static async Task ScrapeTheVmsMetricsAsync(k8s.Models.V1Pod pod, VirtualMachineInstance vmi)
    {
        Assert.Equal("true", pod.Metadata.Annotations["prometheus.io/scrape"]);
        using var http = new HttpClient();
        string url = $"http://{pod.Status.PodIP}:{pod.Metadata.Annotations["prometheus.io/port"]}{pod.Metadata.Annotations["prometheus.io/path"]}";
        var samples = PrometheusText.Parse(await http.GetStringAsync(url, Ct));
        (string, string)[] labels = [("namespace", vmi.Metadata.NamespaceProperty), ("name", vmi.Metadata.Name), ("node", "node-a")];
        double Metric(string name, params (string, string)[] more) =>
            PrometheusText.Value(samples, name, [.. labels, .. more]) ?? throw new Xunit.Sdk.XunitException($"no {name} at {url}:\n{string.Join("\n", samples)}");
        ulong guest = vmi.Spec.Domain!.GuestMemoryBytes();
        Assert.Equal(guest, Metric("podvisor_vmi_memory_domain_bytes"));
        Assert.True(Metric("podvisor_vmi_vcpu_exits_total", ("reason", "io")) > 0);
        double overhead = Metric("podvisor_vmi_vmm_memory_overhead_bytes");
        decimal requested = pod.Spec.Containers[0].Resources.Requests["memory"].ToDecimal() - guest;
        TestContext.Current.SendDiagnosticMessage($"launcher ({(LauncherBinary.Native is null ? "JIT" : "native")}): VMM overhead " +
            $"{overhead / (1 << 20):0.0} MiB, RSS {Metric("podvisor_vmi_memory_resident_bytes") / (1 << 20):0.0} MiB; the pod requests {requested / (1 << 20):0.0} MiB beyond the guest's RAM");
        if (LauncherBinary.Native is not null)
            Assert.True((decimal)overhead <= requested, $"the launcher uses {overhead / (1 << 20):0.0} MiB beyond the guest's RAM; its pod asks for {requested / (1 << 20):0.0} MiB");
    }

    /// <summary>`podvisor console` through the API server's pod proxy: what is typed runs in the guest's shell, its answer
    /// comes back; Ctrl+] detaches and the guest runs on.</summary>
    private static async Task AttachTheConsoleAsync(LocalCluster cluster, string ns)
    {
        using var cli = System.Diagnostics.Process.Start(PodvisorCli.StartInfo(["console", Vm, "-n", ns, "--kubeconfig", cluster.Server.KubeconfigPath]))!;
        var output = new StringBuilder();
        var errors = new StringBuilder();
        cli.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        cli.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
        cli.BeginOutputReadLine();
        cli.BeginErrorReadLine();
        string Text(StringBuilder b) { lock (b) return b.ToString(); }
        try
        {
            await cluster.Eventually(() => Task.FromResult(Text(errors)), e => e.Contains("connected to", StringComparison.Ordinal) || cli.HasExited,
                "podvisor console connected", Patience, Ct);
            Assert.False(cli.HasExited, $"podvisor console ended: {Text(errors)}");
            // Typed until answered: the shell may still be starting when the first line arrives.
            await cluster.Eventually(async () =>
            {
                await cli.StandardInput.WriteAsync("echo $((6*7))-TYPED-THROUGH-THE-API-SERVER\n");
                await cli.StandardInput.FlushAsync(Ct);
                await Task.Delay(1000, Ct);
                return Text(output);
            }, o => o.Contains("42-TYPED-THROUGH-THE-API-SERVER", StringComparison.Ordinal), "the guest's shell answering through podvisor console", Patience, Ct);
            await cli.StandardInput.WriteAsync("\u001d");                 // Ctrl+]
            await cli.StandardInput.FlushAsync(Ct);
            Assert.True(cli.WaitForExit(TimeSpan.FromSeconds(30)), $"podvisor console did not detach: {Text(errors)}");
            cli.WaitForExit();                                             // and its output read to the end
            Assert.True(cli.ExitCode == 0, Text(errors));
            Assert.Contains("detached", Text(errors));
        }
        finally
        {
            if (!cli.HasExited) cli.Kill();
        }
    }
}
