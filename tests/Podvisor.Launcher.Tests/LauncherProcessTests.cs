using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Podvisor.Api.Control;
using Podvisor.EmulatedHost;
using Podvisor.Testing;

namespace Podvisor.Launcher.Tests;

/// <summary>
/// The launcher as the pod runs it, a process: reads its VMI, prepares the volumes, boots the guest, answers
/// the control API, and on SIGTERM asks the guest to shut down (full KVM: the emulated host here).
/// </summary>
[Trait("Category", "FullKvm")]
public sealed class LauncherProcessTests : IDisposable
{
    private const string Token = "launcher-test-token-0123456789";
    private static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(3);
    private static string SharedGuest(string file) => Path.GetFullPath(Path.Combine(Repository.Root, "..", "shared", "guest", file));

    private readonly TestVmi _pod = new();
    private readonly TlsMaterial _controlTls = ControlCertificates.Create("default/test");
    private readonly X509Certificate2 _controlCa;

    public LauncherProcessTests() => _controlCa = X509Certificate2.CreateFromPem(_controlTls.CaCertificatePem);
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _pod.Dispose();
        _controlCa.Dispose();
    }

    /// <summary>Puts the microVM kernel and an initrd running <paramref name="script"/> where the pod would, writes the spec and token.</summary>
    private (string Spec, string TokenFile) PreparePod(string script, long graceSeconds, string devices = "", string spec = "")
    {
        File.Copy(SharedGuest("bzImage"), _pod.Layout.KernelFile, overwrite: true);
        File.Delete(_pod.Layout.InitrdFile);
        CpioArchive.Extend(SharedGuest("initrd.gz"), _pod.Layout.InitrdFile, [("etc/guest-run", Encoding.UTF8.GetBytes(script), 0x1ED)]);
        _pod.VolumeFolder("scratch");
        string specFile = Path.Combine(_pod.Root, "spec.json");
        File.WriteAllText(specFile, TestVmi.Json($$"""{ "disks": [ { "name": "scratch", "serial": "scratch" } ]{{devices}} }""",
            """[ { "name": "scratch", "emptyDisk": { "capacity": "16Mi" } } ]""", $$""", "terminationGracePeriodSeconds": {{graceSeconds}}{{spec}}""")
            .Replace("\"kernelArgs\": \"console=ttyS0\"", "\"kernelArgs\": \"console=ttyS0 reboot=k panic=-1 pci=off quiet\""));
        string token = Path.Combine(_pod.Root, "token");
        File.WriteAllText(token, Token + "\n");
        // The control API's certificate, as the VMI's control Secret holds it next to the token.
        foreach (var (file, data) in _controlTls.ToSecretData()) File.WriteAllBytes(Path.Combine(_pod.Root, file), data);
        return (specFile, token);
    }

    private sealed class Launcher : IDisposable
    {
        private readonly StringBuilder _stdout = new(), _stderr = new();
        public readonly Process Process;

        /// <summary>Starts the launcher, in network namespace <paramref name="netns"/> if given (as in its pod).</summary>
        public Launcher(string spec, string tokenFile, LauncherLayout layout, string? netns = null)
        {
            string[] command = netns is null ? LauncherBinary.Command : ["ip", "netns", "exec", netns, .. LauncherBinary.Command];
            var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
            // A free metrics port is named: 0 would turn the metrics off.
            string[] control = netns is null ? ["--control-address", "127.0.0.1", "--control-port", "0", "--metrics-port", LoopbackPorts.Free().ToString()]
                : ["--control-address", "0.0.0.0", "--control-port", "8443", "--metrics-port", "8445"];
            foreach (string a in command.Skip(1).Concat(["--spec", spec, "--root", layout.Root, .. control, "--control-token-file", tokenFile,
                "--control-tls-directory", Path.GetDirectoryName(tokenFile)!]))
                psi.ArgumentList.Add(a);
            Process = Process.Start(psi)!;
            Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
            Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
        public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

        public void WaitFor(Func<Launcher, bool> condition, string what)
        {
            var deadline = DateTime.UtcNow + BootTimeout;
            while (!condition(this))
            {
                Assert.True(DateTime.UtcNow < deadline && !Process.HasExited, $"{what}: not within {BootTimeout}; console:\n{Stdout}\nlauncher:\n{Stderr}");
                Thread.Sleep(50);
            }
        }

        public int Port => int.Parse(System.Text.RegularExpressions.Regex.Match(Stderr, @"control API on https://[0-9.]+:(\d+)").Groups[1].Value);

        public int MetricsPort => int.Parse(System.Text.RegularExpressions.Regex.Match(Stderr, @"metrics on http://[0-9.]+:(\d+)/metrics").Groups[1].Value);

        public void Signal(string signal)
        {
            using var kill = Process.Start("kill", [$"-{signal}", Process.Id.ToString()]);
            kill.WaitForExit();
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }

    /// <summary>A client that, like the operator, accepts only the certificate from the VMI's control CA.</summary>
    private HttpClient Client(int port, string host = "127.0.0.1") => new(new HttpClientHandler
    {
        ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented is not null && PrivateCa.Trusts(_controlCa, presented, out _),
    })
    {
        BaseAddress = new Uri($"https://{host}:{port}"),
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", Token) },
    };

    private async Task<string> State(HttpClient client)
    {
        using var json = JsonDocument.Parse(await client.GetStringAsync("/v1/status", _ct));
        return json.RootElement.GetProperty("state").GetString()!;
    }

    [Fact]
    public async Task BootsTheVmiServesControlAndOnSigtermTheGuestShutsDown()
    {
        // The guest's stand-in for acpid: Linux counts fixed ACPI events in sysfs; power off on the first press.
        const string Script = """
            echo scratch-disk-$(cat /sys/block/vda/serial 2>/dev/null || cat /sys/block/vda/device/serial)
            c=/sys/firmware/acpi/interrupts/ff_pwr_btn
            read -r n _ < $c; echo "POWER-BUTTON-WATCH count=$n"
            while read -r n _ < $c && [ "$n" = 0 ]; do sleep 0.1; done
            echo "POWER-BUTTON-PRESSED count=$n"
            """;
        var (spec, token) = PreparePod(Script, graceSeconds: 60);
        using var launcher = new Launcher(spec, token, _pod.Layout);
        launcher.WaitFor(l => l.Stderr.Contains("control API on", StringComparison.Ordinal), "the control API");
        using var client = Client(launcher.Port);
        launcher.WaitFor(l => l.Stdout.Contains("POWER-BUTTON-WATCH count=0", StringComparison.Ordinal), "the guest's init");
        HttpResponseMessage ready;
        try
        {
            ready = await client.GetAsync("/readyz", _ct);
        }
        catch (HttpRequestException e)
        {
            throw new InvalidOperationException($"{e.Message}; launcher {(launcher.Process.HasExited ? "exited" : "runs")}:\n{launcher.Stderr}", e);
        }
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("scratch-disk-scratch", launcher.Stdout);                     // the emptyDisk, with its serial
        Assert.Equal(16L << 20, new FileInfo(Path.Combine(_pod.Layout.VolumeDirectory("scratch"), "disk.img")).Length);

        // The VM's metrics, as Prometheus scrapes them (plain HTTP, no credentials).
        using var http = new HttpClient();
        var metrics = PrometheusText.Parse(await http.GetStringAsync($"http://127.0.0.1:{launcher.MetricsPort}/metrics", _ct));
        double Metric(string name, params (string, string)[] labels) =>
            PrometheusText.Value(metrics, name, [("namespace", "default"), ("name", "vm1"), .. labels]) ?? throw new Xunit.Sdk.XunitException($"no {name} in:\n{string.Join("\n", metrics)}");
        using (var status = JsonDocument.Parse(await client.GetStringAsync("/v1/status", _ct)))
            Assert.Equal(status.RootElement.GetProperty("memoryMiB").GetDouble() * 1024 * 1024, Metric("podvisor_vmi_memory_domain_bytes"));
        double rss = Metric("podvisor_vmi_memory_resident_bytes"), guest = Metric("podvisor_vmi_memory_guest_resident_bytes"),
            overhead = Metric("podvisor_vmi_vmm_memory_overhead_bytes");
        Assert.InRange(guest, 1 << 20, Metric("podvisor_vmi_memory_domain_bytes"));   // the kernel and initrd at least; never more than its RAM
        Assert.InRange(overhead, 1 << 20, rss - guest + (16 << 20));                   // RSS moves a little between readings
        Assert.True(Metric("podvisor_vmi_vcpu_exits_total", ("reason", "io")) > 0);    // the serial console's port writes
        TestContext.Current.SendDiagnosticMessage($"launcher RSS {rss / (1 << 20):0.0} MiB, guest resident {guest / (1 << 20):0.0} MiB, VMM overhead {overhead / (1 << 20):0.0} MiB; " +
            string.Join(", ", metrics.Where(m => m.Name == "podvisor_vmi_vcpu_exits_total").Select(m => $"{m.Labels["reason"]} {m.Value}")));

        Assert.Equal(HttpStatusCode.Accepted, (await client.PutAsync("/v1/pause", null, _ct)).StatusCode);
        Assert.Equal("Paused", await State(client));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/readyz", _ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await client.PutAsync("/v1/unpause", null, _ct)).StatusCode);
        Assert.Equal("Running", await State(client));

        Assert.DoesNotContain("POWER-BUTTON-PRESSED", launcher.Stdout);           // the guest waited for us
        launcher.Signal("TERM");
        Assert.True(launcher.Process.WaitForExit(TimeSpan.FromMinutes(1)), $"the launcher did not end after SIGTERM:\n{launcher.Stderr}");
        Assert.True(launcher.Process.ExitCode == 0, launcher.Stderr);
        Assert.Contains("asked the guest to shut down (ACPI power button)", launcher.Stderr);
        Assert.Contains("stopped: GuestPowerOff", launcher.Stderr);
        Assert.Contains("POWER-BUTTON-PRESSED count=1", launcher.Stdout);
        Assert.False(File.Exists(_pod.Layout.ConsoleSocket));
    }

    /// <summary>
    /// The pod network, masquerade-bound: the test wires a network namespace as a CNI plugin wires a pod (a veth,
    /// eth0 with the pod IP, a default route to the node's end) and runs the launcher in it. The guest takes its
    /// address, gateway, DNS and hostname by DHCP, reaches the launcher's end, talks out to the node's end of the
    /// link (which only knows the pod IP: the guest was masqueraded), and is reached on the pod IP; the launcher's
    /// own port stays the launcher's, its status reports the guest's IP; the TAP and the rules go when it ends.
    /// </summary>
    [Fact]
    public async Task AMasqueradedGuestTakesItsAddressByDhcpAndTalksBothWaysThroughThePodIp()
    {
        int subnet = Random.Shared.Next(1, 255);
        string node = $"198.18.{subnet}.1", podIp = $"198.18.{subnet}.2";   // RFC 2544's benchmarking range: no real network uses it
        using var ns = new NetworkNamespace("pvpod");
        ns.LinkToCaller("eth0", $"{podIp}/24", $"pvh{Guid.NewGuid().ToString("N")[..8]}", node);
        Directory.CreateDirectory(Path.Combine(_pod.Root, "etc"));
        File.WriteAllText(Path.Combine(_pod.Root, "etc", "resolv.conf"), $"search default.svc.cluster.local cluster.local\nnameserver {node}\noptions ndots:5\n");

        using var egress = new System.Net.Sockets.TcpListener(IPAddress.Parse(node), 7001);
        egress.Start();
        var served = Task.Run(async () =>
        {
            using var client = await egress.AcceptTcpClientAsync(_ct);
            var stream = client.GetStream();
            string line = (await new StreamReader(stream).ReadLineAsync(_ct))!;
            await stream.WriteAsync("hello-guest-from-the-node\n"u8.ToArray(), _ct);
            return (line, From: ((IPEndPoint)client.Client.RemoteEndPoint!).Address.ToString());
        }, _ct);

        string script = $$"""
            cat > /tmp/lease.sh <<'EOF'
            #!/bin/sh
            [ "$1" = bound ] || exit 0
            ifconfig $interface $ip netmask $subnet mtu ${mtu:-1500} up
            ip route add default via $router
            echo "GUEST-LEASE ip=$ip subnet=$subnet router=$router dns=$dns domain=$domain search=$search hostname=$hostname" > /tmp/lease
            EOF
            chmod +x /tmp/lease.sh
            ip link set eth0 up
            udhcpc -i eth0 -s /tmp/lease.sh -q -n -t 30 -T 1 -O search -O hostname >/dev/null 2>&1; echo "GUEST-DHCP-RC=$?"; cat /tmp/lease
            ping -c 1 -W 10 10.0.2.1 >/dev/null; echo "GUEST-PING-GATEWAY-RC=$?"
            r=$(echo hello-node-from-the-guest | nc {{node}} 7001); echo "GUEST-EGRESS-REPLY=$r"
            echo GUEST-LISTENING
            nc -l -p 7002 > /tmp/in; echo "GUEST-INGRESS=$(cat /tmp/in)"
            """;
        var (spec, token) = PreparePod(script, graceSeconds: 5,
            devices: """, "interfaces": [ { "name": "default", "masquerade": {} } ]""", spec: """, "networks": [ { "name": "default", "pod": {} } ]""");
        using var launcher = new Launcher(spec, token, _pod.Layout, ns.Name);
        launcher.WaitFor(l => l.Stdout.Contains("GUEST-LISTENING", StringComparison.Ordinal), "the guest's network checks");
        string console = launcher.Stdout;
        Assert.True(console.Contains("GUEST-DHCP-RC=0", StringComparison.Ordinal), $"{console}\n{launcher.Stderr}");
        foreach (string expected in new[] { $"GUEST-LEASE ip=10.0.2.2 subnet=255.255.255.0 router=10.0.2.1 dns={node} domain=default.svc.cluster.local " +
            "search=default.svc.cluster.local cluster.local hostname=vm1", "GUEST-PING-GATEWAY-RC=0", "GUEST-EGRESS-REPLY=hello-guest-from-the-node" })
            Assert.True(console.Contains(expected, StringComparison.Ordinal), $"no \"{expected}\" in the console:\n{console}\nlauncher:\n{launcher.Stderr}");
        var (line, from) = await served.WaitAsync(TimeSpan.FromSeconds(30), _ct);
        Assert.Equal("hello-node-from-the-guest", line);
        Assert.Equal(podIp, from);                                    // the node saw the pod, not 10.0.2.2

        // While the guest waits for it: the launcher's own ports are not forwarded to the guest, and it knows the guest's IP.
        using (var http = new HttpClient())
            Assert.Contains("podvisor_vmi_memory_domain_bytes", await http.GetStringAsync($"http://{podIp}:8445/metrics", _ct));
        using var control = Client(8443, podIp);
        using (var status = JsonDocument.Parse(await control.GetStringAsync("/v1/status", _ct)))
        {
            var nic = Assert.Single(status.RootElement.GetProperty("interfaces").EnumerateArray());
            Assert.Equal("default", nic.GetProperty("name").GetString());
            Assert.Equal("10.0.2.2", nic.GetProperty("ipAddress").GetString());
            Assert.Equal(Convert.FromHexString(Api.GuestMac.Derived("0b7c6a56-3f55-4c1e-9a55-000000000001").Replace(":", "")),
                Convert.FromHexString(nic.GetProperty("mac").GetString()!.Replace(":", "")));
        }

        // Inbound: the pod IP's ports lead to the guest (its nc listens a moment after the marker: try until it answers).
        Exception? refused = null;
        for (int attempt = 0; attempt < 40 && !launcher.Stdout.Contains("GUEST-INGRESS=", StringComparison.Ordinal); attempt++)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(IPAddress.Parse(podIp), 7002, _ct);
                await client.GetStream().WriteAsync("hello-guest-via-the-pod-ip\n"u8.ToArray(), _ct);
                client.Client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
                break;
            }
            catch (System.Net.Sockets.SocketException e)
            {
                refused = e;
                await Task.Delay(250, _ct);
            }
        }
        launcher.WaitFor(l => l.Stdout.Contains("GUEST-INGRESS=", StringComparison.Ordinal), $"the guest hearing from the pod IP (last: {refused?.Message})");

        Assert.True(launcher.Process.WaitForExit(TimeSpan.FromMinutes(1)), $"the guest did not power off:\n{launcher.Stderr}");
        Assert.Contains("GUEST-INGRESS=hello-guest-via-the-pod-ip", launcher.Stdout);
        Assert.True(launcher.Process.ExitCode == 0, launcher.Stderr);
        Assert.Contains("guest took 10.0.2.2 by DHCP", launcher.Stderr);
        Assert.DoesNotContain("tap0", ns.Run("ip", "link", "show"));
        Assert.DoesNotContain("podvisor", ns.Run("nft", "list", "tables"));
    }

    [Fact]
    public void AGuestThatIgnoresTheButtonIsStoppedAfterTheGracePeriod()
    {
        var (spec, token) = PreparePod("echo IGNORING-THE-BUTTON; sleep 600", graceSeconds: 2);
        using var launcher = new Launcher(spec, token, _pod.Layout);
        launcher.WaitFor(l => l.Stdout.Contains("IGNORING-THE-BUTTON", StringComparison.Ordinal), "the guest's init");
        var asked = Stopwatch.StartNew();
        launcher.Signal("TERM");
        Assert.True(launcher.Process.WaitForExit(TimeSpan.FromMinutes(1)), launcher.Stderr);
        Assert.InRange(asked.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30));
        Assert.Contains("did not shut down within the grace period", launcher.Stderr);
        Assert.Contains("stopped: HostRequest", launcher.Stderr);
    }
}
