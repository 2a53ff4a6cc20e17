using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Podvisor.Benchmarks.Migration;

/// <summary>
/// QEMU's live migration of the guest: a source and an <c>-incoming</c> target (<c>-M microvm</c>, same kernel,
/// initramfs, vCPUs and memory), <c>migrate</c> over QMP on loopback TCP, <c>query-migrate</c> until it completes.
/// Its defaults but two, as libvirt (and so KubeVirt) runs it: no bandwidth cap, and auto-converge on as ours is.
/// The downtime limit stays QEMU's default (300 ms).
/// </summary>
internal static class QemuMigration
{
    /// <param name="tls">Migrate over TLS (QEMU's tls-creds-x509, mutual, one CA), as KubeVirt's migrations are encrypted.</param>
    public static MigrationSample Run(string workload, string kernel, string initrd, string cmdline, int memoryMiB, string work, bool tls)
    {
        string vmm = tls ? "qemu-tls" : "qemu";
        // Files of this run alone: with --rounds, the last run's serial log (BENCH-READY in it) would otherwise be read
        // before QEMU truncates it, and the migration would start while the guest still boots.
        string run = Guid.NewGuid().ToString("N")[..8];
        string Path(string name) => System.IO.Path.Combine(work, $"{vmm}-{workload}-{run}-{name}");
        int port = FreePort();
        string credentials = tls ? QemuTlsCredentials.Write(Path("tls")) : "";
        string[] Machine(string side) =>
        [
            "qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-M", "microvm", "-m", memoryMiB.ToString(), "-smp", "1", "-nodefaults", "-no-user-config",
            "-nographic", "-serial", $"file:{Path(side + ".log")}", "-kernel", kernel, "-initrd", initrd, "-append", cmdline,
            "-qmp", $"unix:{Path(side + ".qmp")},server=on,wait=off",
            .. (tls ? new[] { "-object", $"tls-creds-x509,id=tls0,dir={credentials},endpoint={(side == "target" ? "server" : "client")},verify-peer=on" } : []),
        ];
        string Log(string side) => File.Exists(Path(side + ".log")) ? File.ReadAllText(Path(side + ".log")) : "";
        using var source = new GuestProcess(Machine("source"), () => Log("source"));
        source.WaitFor(p => p.Console.Contains("BENCH-READY") ? "" : null, "QEMU's guest ready", TimeSpan.FromMinutes(5));
        Thread.Sleep(TimeSpan.FromSeconds(3));                                   // a steady workload
        using var target = new GuestProcess([.. Machine("target"), "-incoming", tls ? "defer" : $"tcp:127.0.0.1:{port}"], () => Log("target"));
        using var targetQmp = QmpClient.Connect(Path("target.qmp"), TimeSpan.FromMinutes(1));   // up (and listening, without TLS)
        if (tls)
        {
            targetQmp.Execute("migrate-set-parameters", new JsonObject { ["tls-creds"] = "tls0" });
            targetQmp.Execute("migrate-incoming", new JsonObject { ["uri"] = $"tcp:127.0.0.1:{port}" });
        }
        using var qmp = QmpClient.Connect(Path("source.qmp"), TimeSpan.FromMinutes(1));
        qmp.Execute("migrate-set-capabilities", new JsonObject
        {
            ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "auto-converge", ["state"] = true }),
        });
        qmp.Execute("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 1L << 40 });    // 1 TiB/s: no cap
        if (tls) qmp.Execute("migrate-set-parameters", new JsonObject { ["tls-creds"] = "tls0", ["tls-hostname"] = "127.0.0.1" });
        qmp.Execute("migrate", new JsonObject { ["uri"] = $"tcp:127.0.0.1:{port}" });
        var clock = Stopwatch.StartNew();
        JsonNode status;
        while (true)
        {
            status = qmp.Execute("query-migrate")!;
            string state = status["status"]?.GetValue<string>() ?? "";
            if (state == "completed") break;
            if (state is "failed" or "cancelled") throw new InvalidOperationException($"QEMU's migration {state}: {status.ToJsonString()}");
            if (clock.Elapsed > TimeSpan.FromMinutes(10)) throw new TimeoutException($"QEMU's migration did not complete: {status.ToJsonString()}");
            Thread.Sleep(PollInterval);
        }
        bool alive = GuestAlive(target);
        return new MigrationSample(vmm, workload, status["downtime"]!.GetValue<long>(), status["total-time"]!.GetValue<long>(),
            status["ram"]!["transferred"]!.GetValue<long>() / 1048576.0, alive);
    }

    /// <summary>
    /// How often either VMM is asked how its migration goes: as the operator asks a launcher. Both report their own
    /// downtime and total; asking more often only takes CPU from the migration (this program shares the one CPU).
    /// </summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>The guest prints a tick every second; a new one on the target means it runs there.</summary>
    public static bool GuestAlive(GuestProcess target)
    {
        int ticks(GuestProcess p) => p.Console.Split('\n').Count(l => l.Contains("BENCH-TICK"));
        int before = ticks(target);
        try
        {
            target.WaitFor(p => ticks(p) > before ? "" : null, "a tick from the guest on the target", TimeSpan.FromSeconds(30));
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
