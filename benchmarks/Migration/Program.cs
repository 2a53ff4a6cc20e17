using System.Text;
using Podvisor.Benchmarks;
using Podvisor.Benchmarks.Migration;
using Podvisor.EmulatedHost;

// Live migration, Podvisor vs QEMU, same guest (microVM kernel, busybox initramfs, 1 vCPU, 1 GiB), same (emulated)
// KVM host, loopback TCP, one after the other in one run: an idle guest, and a guest dirtying memory at a fixed rate
// (a static program in its initramfs). Each VMM with its defaults (Podvisor: 50 ms allowed downtime, auto-converge;
// QEMU: 300 ms, with auto-converge on and no bandwidth cap as libvirt and KubeVirt run it). Downtime and total time as
// each VMM reports them; "alive" means the guest ticked on at the target afterwards.
// QEMU runs twice: over TLS (mutual, as KubeVirt's migrations are encrypted: the like-for-like comparison, ratios
// against it) and over plain TCP.
//   dotnet run -c Release --project benchmarks/Migration -- [--rounds 1] [--memory 1024] [--dirty-rate 2] [--dirty-set 64]
//     [--vmm podvisor,qemu-tls,qemu] [--workload idle,dirty]   (which runs; all by default)
string Arg(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;
string kernel = Path.GetFullPath(Arg("--kernel", "../shared/guest/bzImage"));
string baseInitrd = Path.GetFullPath(Arg("--initrd", "../shared/guest/initrd.gz"));
int rounds = int.Parse(Arg("--rounds", "1"));
int memoryMiB = int.Parse(Arg("--memory", "1024"));
int dirtyRate = int.Parse(Arg("--dirty-rate", "2"));
int dirtySet = int.Parse(Arg("--dirty-set", "64"));
string[] vmms = Arg("--vmm", "podvisor,qemu-tls,qemu").Split(',', StringSplitOptions.RemoveEmptyEntries);
string[] workloadNames = Arg("--workload", "idle,dirty").Split(',', StringSplitOptions.RemoveEmptyEntries);
if (vmms.Except(["podvisor", "qemu-tls", "qemu"]).FirstOrDefault() is { } unknownVmm)
{
    Console.Error.WriteLine($"--vmm: unknown VMM '{unknownVmm}' (podvisor, qemu-tls, qemu)");
    return 2;
}
if (workloadNames.Except(["idle", "dirty"]).FirstOrDefault() is { } unknownWorkload)
{
    Console.Error.WriteLine($"--workload: unknown workload '{unknownWorkload}' (idle, dirty)");
    return 2;
}
const string CommandLine = "console=ttyS0 reboot=k panic=-1 pci=off quiet";

if (args.Contains("--inside"))
{
    string launcher = Arg("--launcher", "podvisor-launcher");
    string work = Directory.CreateTempSubdirectory("podvisor-migration-bench-").FullName;
    try
    {
        string dirty = Path.Combine(work, "dirty");
        await ProcessRunner.RunAsync("gcc", ["-static", "-O2", "-o", dirty, Path.Combine(AppContext.BaseDirectory, "dirty.c")]);
        string Initrd(string workload, string start)
        {
            string path = Path.Combine(work, $"initrd-{workload}.gz");
            CpioArchive.Extend(baseInitrd, path, [
                ("bin/dirty", File.ReadAllBytes(dirty), 0x1ED),
                ("etc/guest-run", Encoding.UTF8.GetBytes($"{start}\necho BENCH-READY\nwhile true; do sleep 1; echo BENCH-TICK; done\n"), 0x1ED)]);
            return path;
        }
        var workloads = new List<(string Name, string Initrd)>();
        if (workloadNames.Contains("idle")) workloads.Add(("idle", Initrd("idle", "")));
        if (workloadNames.Contains("dirty")) workloads.Add(($"dirty-{dirtyRate}MiBps", Initrd("dirty", $"dirty {dirtyRate} {dirtySet} &\nsleep 2")));
        for (int i = 0; i < rounds; i++)
            foreach (var (name, initrd) in workloads)
            {
                var runs = new List<Func<MigrationSample>>();
                if (vmms.Contains("podvisor")) runs.Add(() => PodvisorMigration.Run(launcher, name, kernel, initrd, CommandLine, memoryMiB, work));
                if (vmms.Contains("qemu-tls")) runs.Add(() => QemuMigration.Run(name, kernel, initrd, CommandLine, memoryMiB, work, tls: true));
                if (vmms.Contains("qemu")) runs.Add(() => QemuMigration.Run(name, kernel, initrd, CommandLine, memoryMiB, work, tls: false));
                foreach (var run in runs)
                {
                    string line = run().Line();
                    Console.WriteLine(line);
                    Console.Error.WriteLine(line);          // as it comes, for whoever watches
                }
            }
    }
    finally
    {
        Directory.Delete(work, recursive: true);
    }
    return 0;
}

if (FullKvmRunner.PublishAot("src/Podvisor.Launcher", "launcher-aot", "podvisor-launcher") is not { } launcherAot) return 1;
// This program drives the runs inside the emulated host, on the one CPU both VMMs use: JIT-compiled, it compiled
// (and tier-1 recompiled) its own code during the first migrations it timed — ~1 s of that CPU during Podvisor's
// idle run, which comes first (perf). Native, it costs every run the same: next to nothing.
if (FullKvmRunner.PublishAot("benchmarks/Migration", "migration-bench-aot", "Migration") is not { } driverAot) return 1;
string[] inside = [driverAot, "--inside", "--launcher", launcherAot, "--kernel", kernel, "--initrd", baseInitrd,
    "--rounds", rounds.ToString(), "--memory", memoryMiB.ToString(), "--dirty-rate", dirtyRate.ToString(), "--dirty-set", dirtySet.ToString(),
    "--vmm", string.Join(',', vmms), "--workload", string.Join(',', workloadNames)];
// Two guests of the given size at once (source and target), each VMM in turn.
var (rc, output, where) = await FullKvmRunner.RunAsync(inside, emulatedHostMemoryMiB: Math.Max(6144, 3 * memoryMiB + 2048), TimeSpan.FromMinutes(60));
if (rc != 0) return rc;

var samples = output.Split('\n').Select(l => MigrationSample.Parse(l.Trim())).OfType<MigrationSample>().ToList();
double Median(IEnumerable<double> v) { var s = v.Order().ToList(); return s.Count == 0 ? double.NaN : s[s.Count / 2]; }
Console.WriteLine($"live migration over loopback TCP ({Path.GetFileName(kernel)}, 1 vCPU, {memoryMiB} MiB), {where}; median of {rounds}");
Console.WriteLine($"{"workload",-18} {"VMM",-9} {"downtime ms",12} {"total s",9} {"MiB sent",9} {"alive",6}   vs qemu-tls: downtime, total");
foreach (string workload in samples.Select(s => s.Workload).Distinct())
{
    var rows = samples.Where(s => s.Workload == workload).GroupBy(s => s.Vmm)
        .ToDictionary(g => g.Key, g => (Down: Median(g.Select(s => s.DowntimeMs)), Total: Median(g.Select(s => s.TotalMs)), MiB: Median(g.Select(s => s.TransferredMiB)),
            Alive: g.All(s => s.GuestAliveAfter)));
    foreach (var (vmm, r) in rows.OrderBy(kv => kv.Key == "podvisor" ? 0 : kv.Key == "qemu-tls" ? 1 : 2))
    {
        string ratios = vmm == "podvisor" && (rows.TryGetValue("qemu-tls", out var q) || rows.TryGetValue("qemu", out q))
            ? $"   {r.Down / q.Down,13:0.00}x   {r.Total / q.Total,10:0.00}x" : "";
        Console.WriteLine($"{workload,-18} {vmm,-9} {r.Down,12:0} {r.Total / 1000,9:0.00} {r.MiB,9:0} {(r.Alive ? "yes" : "NO"),6}{ratios}");
    }
}
return 0;
