using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Podvisor.Api;
using Podvisor.Api.Control;

namespace Podvisor.Benchmarks.Migration;

/// <summary>
/// Podvisor's live migration of the guest as the product runs it: two NativeAOT <c>podvisor-launcher</c> processes, a
/// source booting the VMI and a target started with <c>--migration-target</c>, and the operator's calls made by hand:
/// <c>PUT /v1/migrate</c> to the source, <c>GET /v1/migration</c> until the end (or the source's termination message
/// once it has handed over and exited). Mutual TLS with a per-migration CA, as in a cluster; defaults otherwise
/// (50 ms allowed downtime, auto-converge).
/// </summary>
internal static partial class PodvisorMigration
{
    private const string Token = "benchmark-control-token-0123456789";

    public static MigrationSample Run(string launcher, string workload, string kernel, string initrd, string cmdline, int memoryMiB, string work)
    {
        string uid = $"bench-{Guid.NewGuid():N}";
        string run = uid[6..14];                      // this run's files alone (a stale termination log must not be read)
        string spec = Path.Combine(work, $"podvisor-{workload}-vmi.json");
        File.WriteAllText(spec, $$"""
            { "apiVersion": "podvisor.io/v1alpha1", "kind": "VirtualMachineInstance",
              "metadata": { "name": "bench", "namespace": "default", "uid": "{{uid}}" },
              "spec": { "domain": { "cpu": { "cores": 1 }, "memory": { "guest": "{{memoryMiB}}Mi" },
                "firmware": { "kernelBoot": { "kernelArgs": "{{JsonEncodedText.Encode(cmdline)}}", "hostPath": { "kernelPath": "/k", "initrdPath": "/i" } } } } } }
            """);
        string token = Path.Combine(work, "token");
        File.WriteAllText(token, Token);
        var tls = MigrationCertificates.Create("default/bench");
        string Root(string side)
        {
            string root = Directory.CreateDirectory(Path.Combine(work, $"p-{run}-{side}")).FullName;   // short: the console socket path must fit 107 bytes
            string kernelDir = Directory.CreateDirectory(Path.Combine(root, LauncherPaths.Kernel.TrimStart('/'))).FullName;
            File.Copy(kernel, Path.Combine(kernelDir, "kernel"), overwrite: true);
            File.Copy(initrd, Path.Combine(kernelDir, "initrd"), overwrite: true);
            return root;
        }
        string[] Launcher(string root) => [launcher, "--spec", spec, "--root", root, "--control-address", "127.0.0.1", "--control-port", "0", "--control-token-file", token];

        string sourceRoot = Root("source"), targetRoot = Root("target");
        string tlsDir = Directory.CreateDirectory(Path.Combine(targetRoot, LauncherPaths.MigrationDirectory.TrimStart('/'))).FullName;
        foreach (var (file, content) in tls.ToSecretData()) File.WriteAllBytes(Path.Combine(tlsDir, file), content);

        using var source = new GuestProcess(Launcher(sourceRoot));
        source.WaitFor(p => p.Console.Contains("BENCH-READY") ? "" : null, "Podvisor's guest ready", TimeSpan.FromMinutes(5));
        Thread.Sleep(TimeSpan.FromSeconds(3));                                   // a steady workload
        using var target = new GuestProcess([.. Launcher(targetRoot), "--migration-target", uid, "--migration-port", "0"]);
        int migrationPort = int.Parse(target.WaitFor(p => Listening().Match(p.Stderr) is { Success: true } m ? m.Groups[1].Value : null,
            "the target listening", TimeSpan.FromMinutes(2)));
        int sourceControl = int.Parse(source.WaitFor(p => ControlPort().Match(p.Stderr) is { Success: true } m ? m.Groups[1].Value : null,
            "the source's control API", TimeSpan.FromMinutes(1)));

        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true })
        {
            BaseAddress = new Uri($"https://127.0.0.1:{sourceControl}"), Timeout = TimeSpan.FromSeconds(30),
        };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        // This program runs JIT-compiled inside the emulated host, on the one CPU the VMs use: a first GET compiles the
        // status path before the clock starts (the profile showed the JIT taking ~18 % of the CPU during migrations).
        http.GetAsync("/v1/migration").GetAwaiter().GetResult().Dispose();
        var asked = http.PutAsJsonAsync("/v1/migrate", new MigrateRequest(uid, "127.0.0.1", migrationPort, tls), ControlApiJson.Default.MigrateRequest).GetAwaiter().GetResult();
        if (!asked.IsSuccessStatusCode) throw new InvalidOperationException($"PUT /v1/migrate: {(int)asked.StatusCode} {asked.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");

        var clock = Stopwatch.StartNew();
        LauncherMigrationStatus? status = null;
        string terminationLog = Path.Combine(sourceRoot, LauncherPaths.TerminationLog.TrimStart('/'));
        while (status?.Phase is not (LauncherMigrationPhases.Completed or LauncherMigrationPhases.Failed))
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(10)) throw new TimeoutException($"Podvisor's migration did not complete: {status}");
            try
            {
                status = http.GetFromJsonAsync("/v1/migration", ControlApiJson.Default.LauncherMigrationStatus).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Handed over and going: its last word is in the termination message once it has exited.
                if (!SpinWait.SpinUntil(() => source.Exited, TimeSpan.FromSeconds(30))) throw;
                if (!SpinWait.SpinUntil(() => File.Exists(terminationLog), TimeSpan.FromSeconds(5)))
                    throw new InvalidOperationException($"the source ended without a termination message:\n{source.Stderr}");
                status = JsonSerializer.Deserialize(File.ReadAllText(terminationLog), ControlApiJson.Default.LauncherMigrationStatus);
            }
            Thread.Sleep(QemuMigration.PollInterval);
        }
        if (status.Phase != LauncherMigrationPhases.Completed)
            throw new InvalidOperationException($"Podvisor's migration failed: {status.FailureReason}\nsource:\n{source.Stderr}\ntarget:\n{target.Stderr}");
        bool alive = QemuMigration.GuestAlive(target);
        foreach (string line in source.Stderr.Split('\n').Where(l => l.Contains("sending the VM") || l.Contains(" done at "))) Console.Error.WriteLine(line);
        Console.Error.WriteLine(source.Stderr.Split('\n').LastOrDefault(l => l.Contains("downtime")) ?? "");
        Console.Error.WriteLine(target.Stderr.Split('\n').LastOrDefault(l => l.Contains("arrived")) ?? "");
        return new MigrationSample("podvisor", workload, status.DowntimeMilliseconds ?? double.NaN, status.TotalMilliseconds ?? double.NaN,
            (status.BytesTransferred ?? 0) / 1048576.0, alive);
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex Listening();

    [GeneratedRegex(@"control API on https://127\.0\.0\.1:(\d+)")]
    private static partial Regex ControlPort();
}
