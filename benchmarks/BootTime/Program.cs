using System.Diagnostics;
using Podvisor.Benchmarks.BootTime;
using Podvisor.Benchmarks;

// Boot to the guest's init marker: Podvisor's VMM (NativeAOT build) vs qemu-system-x86_64 -M microvm, same
// kernel, initrd, command line, vCPUs and memory, alternating in one run inside the same (emulated) KVM host.
// Each VMM boots the kernel both ways: the bzImage (64-bit boot protocol, the kernel decompresses itself)
// and the ELF vmlinux (PVH entry, nothing to decompress).
//   dotnet run -c Release --project benchmarks/BootTime -- [--kernel K] [--vmlinux V] [--initrd I] [--rounds 3]
string Arg(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;
string kernel = Path.GetFullPath(Arg("--kernel", "../shared/guest/bzImage"));
string vmlinux = Path.GetFullPath(Arg("--vmlinux", "../shared/guest/vmlinux"));
string initrd = Path.GetFullPath(Arg("--initrd", "../shared/guest/initrd.gz"));
int rounds = int.Parse(Arg("--rounds", "3"));
const ulong MemoryMiB = 256;
TimeSpan Settle = TimeSpan.FromSeconds(3);
const string CommandLine = "console=ttyS0 reboot=k panic=-1 pci=off quiet";

if (args.Contains("--inside"))
{
    string podvisor = Arg("--podvisor", "podvisor");
    for (int i = 0; i < rounds; i++)
    {
        foreach (var (format, image) in new[] { ("bzImage", kernel), ("vmlinux", vmlinux) })
        {
            // Each boot starts after the previous VM's teardown has settled: on one emulated CPU the host
            // kernel's freeing of a VM's memory otherwise slows whichever VMM runs next.
            Thread.Sleep(Settle);
            Console.WriteLine(BootMeasurement.Measure($"podvisor/{format}", podvisor,
                ["run", "--no-emulated-host", "--kernel", image, "--initrd", initrd, "--cmdline", CommandLine, "--memory", MemoryMiB.ToString()],
                MemoryMiB, TimeSpan.FromMinutes(3)).Format());
            Thread.Sleep(Settle);
            Console.WriteLine(BootMeasurement.Measure($"qemu/{format}", "qemu-system-x86_64",
                ["-accel", "kvm", "-cpu", "host", "-M", "microvm", "-m", MemoryMiB.ToString(), "-smp", "1", "-nodefaults", "-no-user-config",
                 "-nographic", "-serial", "stdio", "-no-reboot", "-kernel", image, "-initrd", initrd, "-append", CommandLine],
                MemoryMiB, TimeSpan.FromMinutes(3)).Format());
        }
    }
    return 0;
}

if (FullKvmRunner.PublishPodvisor() is not { } podvisorAot) return 1;
// This program times the boots inside the emulated host, on the one CPU both VMMs use: natively, so that compiling its
// own code (JIT, then tier-1 recompiles) takes nothing from the first boots it times.
if (FullKvmRunner.PublishAot("benchmarks/BootTime", "boot-bench-aot", "BootTime") is not { } driverAot) return 1;
string[] inside = [driverAot, "--inside", "--podvisor", podvisorAot, "--kernel", kernel, "--vmlinux", vmlinux,
    "--initrd", initrd, "--rounds", rounds.ToString()];
var (rc, output, where) = await FullKvmRunner.RunAsync(inside, emulatedHostMemoryMiB: 2048, TimeSpan.FromMinutes(30));
if (rc != 0) return rc;

var samples = output.Split('\n')
    .Where(l => l.StartsWith("sample ", StringComparison.Ordinal)).Select(BootSample.Parse).ToList();
double Median(IEnumerable<double> v) { var s = v.Order().ToList(); return s[s.Count / 2]; }
Console.WriteLine($"Boot to GUEST-INIT-OK, {Path.GetFileName(kernel)} or {Path.GetFileName(vmlinux)} (PVH) + {Path.GetFileName(initrd)}, 1 vCPU, {MemoryMiB} MiB, {where}");
Console.WriteLine($"median of {rounds} boots each, alternating; all times in seconds");
Console.WriteLine($"{"VMM/kernel",-18} {"total",8} {"guest uptime",13} {"VMM overhead",13} {"RSS MiB",8} {"guest RSS",10} {"mem overhead MiB",17}");
var rows = new Dictionary<string, (double Total, double Uptime, double Overhead, double Rss, double GuestRss, double MemOverhead)>();
foreach (string label in new[] { "podvisor/bzImage", "qemu/bzImage", "podvisor/vmlinux", "qemu/vmlinux" })
{
    var s = samples.Where(x => x.Vmm == label).ToList();
    if (s.Count == 0) continue;
    var row = (Median(s.Select(x => x.TotalSeconds)), Median(s.Select(x => x.GuestUptimeSeconds)), Median(s.Select(x => x.OverheadSeconds)),
        Median(s.Select(x => x.RssMiB)), Median(s.Select(x => x.GuestRssMiB)), Median(s.Select(x => x.MemoryOverheadMiB)));
    rows[label] = row;
    Console.WriteLine($"{label,-18} {row.Item1,8:0.000} {row.Item2,13:0.000} {row.Item3,13:0.000} {row.Item4,8:0.0} {row.Item5,10:0.0} {row.Item6,17:0.0}");
}
foreach (string format in new[] { "bzImage", "vmlinux" })
{
    if (!rows.TryGetValue($"podvisor/{format}", out var p1) || !rows.TryGetValue($"qemu/{format}", out var q1)) continue;
    Console.WriteLine($"{format}: podvisor / qemu: total {p1.Total / q1.Total:0.00}x, VMM overhead {p1.Overhead / q1.Overhead:0.00}x, memory overhead {p1.MemOverhead / q1.MemOverhead:0.00}x");
}
return 0;
