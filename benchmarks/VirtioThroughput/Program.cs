using System.Diagnostics;
using Podvisor.Benchmarks.VirtioThroughput;
using Podvisor.Benchmarks;

// virtio-blk and virtio-net throughput measured inside the guest: Podvisor's devices vs QEMU's (-M microvm,
// virtio-mmio), same kernel, guest program, disk image and tap, alternating in one run inside the same
// (emulated) KVM host. Disk: a raw image through the host page cache (QEMU's default cache=writeback,
// aio=threads); the guest uses O_DIRECT. Network: a tap in a namespace, the host end run by io-bench too.
// Podvisor runs once per disk I/O mode asked for (--io, default: its default mode), QEMU once per aio mode
// (--qemu-aio, default: its default, threads); ratios are against QEMU's default.
// --slow-disk-ms N puts the disk on a block device with N ms of latency per I/O (dm-delay over a loop device)
// (no readahead) and drops the host's page cache before each VM: a disk not in memory, where waiting matters.
//   dotnet run -c Release --project benchmarks/VirtioThroughput -- [--rounds 1] [--only seqread] [--io io_uring,threads,sync] [--qemu-aio threads,io_uring] [--slow-disk-ms 1]
string Arg(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;
string kernel = Path.GetFullPath(Arg("--kernel", "../shared/guest/bzImage"));
string baseInitrd = Path.GetFullPath(Arg("--initrd", "../shared/guest/initrd.gz"));
int rounds = int.Parse(Arg("--rounds", "1"));
string? only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
string ioModes = Arg("--io", "default");
string qemuAio = Arg("--qemu-aio", "threads");
string? slowDiskMs = args.SkipWhile(a => a != "--slow-disk-ms").Skip(1).FirstOrDefault();
const string CommandLine = "console=ttyS0 reboot=k panic=-1 pci=off quiet";
const string Tap = "vbench0";

if (args.Contains("--inside"))
{
    string podvisor = Arg("--podvisor", "podvisor");
    string work = Directory.CreateTempSubdirectory("podvisor-virtio-bench-").FullName;
    string ioBench = Path.Combine(work, "io-bench");
    Run("gcc", "-static", "-O2", "-pthread", "-o", ioBench, Path.Combine(AppContext.BaseDirectory, "io-bench.c"));
    string initrd = GuestInitrd.Build(baseInitrd, ioBench, Path.Combine(work, "initrd.gz"), only);
    string disk = Path.Combine(work, "disk.img");
    Run("dd", "if=/dev/urandom", $"of={disk}", "bs=1M", "count=256", "status=none");
    string? loop = null;
    if (slowDiskMs is not null)
    {
        loop = Capture("losetup", "--find", "--show", disk).Trim();
        Environment.SetEnvironmentVariable("DM_DISABLE_UDEV", "1");      // no udev in the emulated host: dmsetup makes the node
        Run("dmsetup", "create", "pvslow", "--noudevsync", "--table", $"0 {256 * 2048} delay {loop} 0 {slowDiskMs}");
        disk = "/dev/mapper/pvslow";
        Run("blockdev", "--setra", "0", disk);      // no readahead: each read the guest makes waits for the disk
    }
    // Cold host caches for every VM when the disk is slow; nothing to drop when it is a file in memory.
    void ColdCache()
    {
        if (slowDiskMs is null) return;
        Run("blockdev", "--flushbufs", disk);
        File.WriteAllText("/proc/sys/vm/drop_caches", "3");
    }
    string netns = $"vbench{Environment.ProcessId}";
    Run("ip", "netns", "add", netns);
    try
    {
        Run("ip", "-n", netns, "link", "set", "lo", "up");
        Run("ip", "-n", netns, "tuntap", "add", "dev", Tap, "mode", "tap");
        Run("ip", "-n", netns, "addr", "add", "10.0.2.1/24", "dev", Tap);
        Run("ip", "-n", netns, "link", "set", Tap, "up");
        void RunPodvisor()
        {
            foreach (string io in ioModes.Split(','))
            {
                ColdCache();
                Report(io == "default" ? "podvisor" : $"podvisor-{io}", GuestRun.Measure(netns, ioBench,
                    [podvisor, "run", "--no-emulated-host", "--kernel", kernel, "--initrd", initrd, "--cmdline", CommandLine, "--memory", "256",
                     "--disk", io == "default" ? disk : $"{disk},io={io}", "--net", $"tap={Tap}"], TimeSpan.FromMinutes(5)));
            }
        }
        void RunQemu()
        {
            foreach (string aio in qemuAio.Split(','))
            {
                ColdCache();
                Report(aio == "threads" ? "qemu" : $"qemu-{aio}", GuestRun.Measure(netns, ioBench,
                    ["qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-M", "microvm", "-m", "256", "-smp", "1", "-nodefaults", "-no-user-config",
                     "-nographic", "-serial", "stdio", "-no-reboot", "-kernel", kernel, "-initrd", initrd, "-append", CommandLine,
                     "-drive", $"id=d0,file={disk},format=raw,if=none,aio={aio}", "-device", "virtio-blk-device,drive=d0",
                     "-netdev", $"tap,id=n0,ifname={Tap},script=no,downscript=no,vnet_hdr=on", "-device", "virtio-net-device,netdev=n0"],
                    TimeSpan.FromMinutes(5)));
            }
        }
        // Who goes first alternates from round to round, so that neither VMM always runs just after the other's
        // teardown (the host freeing its memory) or always first after the image was written.
        for (int i = 0; i < rounds; i++)
        {
            if (i % 2 == 0) { RunPodvisor(); RunQemu(); }
            else { RunQemu(); RunPodvisor(); }
        }
    }
    finally
    {
        Run("ip", "netns", "delete", netns);
        if (loop is not null)
        {
            Run("dmsetup", "remove", "--noudevsync", "pvslow");
            Run("losetup", "--detach", loop);
        }
        Directory.Delete(work, recursive: true);
    }
    return 0;
}

if (FullKvmRunner.PublishPodvisor() is not { } podvisorAot) return 1;
// This program drives the runs inside the emulated host, on the one CPU both VMMs use: JIT-compiled, it compiled (and
// tier-1 recompiled) its own code while the first VM — Podvisor's — was being measured (sequential 1 MiB reads: 162 IOPS
// against QEMU's 289 in one such run; 275-312 against 317-323 with the same VMs run by hand). Native, it costs every run
// the same.
if (FullKvmRunner.PublishAot("benchmarks/VirtioThroughput", "virtio-bench-aot", "VirtioThroughput") is not { } driverAot) return 1;
string[] inside = [driverAot, "--inside", "--podvisor", podvisorAot, "--kernel", kernel, "--initrd", baseInitrd,
    "--rounds", rounds.ToString(), "--io", ioModes, "--qemu-aio", qemuAio,
    .. (only is null ? Array.Empty<string>() : ["--only", only]), .. (slowDiskMs is null ? Array.Empty<string>() : ["--slow-disk-ms", slowDiskMs])];
var (rc, output, where) = await FullKvmRunner.RunAsync(inside, emulatedHostMemoryMiB: 3072, TimeSpan.FromMinutes(40));
if (rc != 0) return rc;

var rows = output.Split('\n')
    .Where(l => l.StartsWith("result ", StringComparison.Ordinal))
    .Select(l => l.Split(' '))
    .Select(p => (Vmm: p[1], Name: p[2], MBps: double.Parse(p[3], System.Globalization.CultureInfo.InvariantCulture),
        Iops: p[4] == "-" ? (double?)null : double.Parse(p[4], System.Globalization.CultureInfo.InvariantCulture)))
    .ToList();
double Median(IEnumerable<double> v) { var s = v.Order().ToList(); return s.Count == 0 ? double.NaN : s[s.Count / 2]; }
string diskKind = slowDiskMs is null ? "256 MiB raw image in memory" : $"256 MiB block device with {slowDiskMs} ms latency, cold host cache";
Console.WriteLine($"virtio throughput measured in the guest ({Path.GetFileName(kernel)}, 1 vCPU, 256 MiB, {diskKind}, tap), {where}; median of {rounds}");
var vmms = rows.Select(r => r.Vmm).Distinct().ToList();
if (!vmms.Contains("qemu"))
{
    Console.Error.WriteLine("no run of QEMU with its default aio=threads to compare with: include threads in --qemu-aio");
    return 1;
}
var ours = vmms.Where(v => v != "qemu").ToList();
Console.WriteLine($"{"test",-32}" + string.Concat(vmms.Select(v => $" {v,18}")) + string.Concat(ours.Select(v => $" {v + "/qemu",20}")));
foreach (string name in rows.Select(r => r.Name).Distinct())
{
    string unit = rows.First(r => r.Name == name).Iops is null ? "MB/s" : "IOPS";
    var values = vmms.Select(v => Median(rows.Where(r => r.Vmm == v && r.Name == name).Select(r => r.Iops ?? r.MBps))).ToList();
    double q = values[vmms.IndexOf("qemu")];
    Console.WriteLine($"{name + " (" + unit + ")",-32}" + string.Concat(values.Select(v => $" {v,18:0.0}"))
        + string.Concat(ours.Select(v => $" {values[vmms.IndexOf(v)] / q,19:0.00}x")));
}
return 0;

static void Report(string vmm, Dictionary<string, (double MBps, double? Iops)> results)
{
    foreach (var (name, (mbps, iops)) in results)
        Console.WriteLine(FormattableString.Invariant($"result {vmm} {name} {mbps} {(iops is { } i ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-")}"));
}

static void Run(params string[] command) => Capture(command);

static string Capture(params string[] command)
{
    var psi = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
    foreach (string a in command.Skip(1)) psi.ArgumentList.Add(a);
    using var p = Process.Start(psi)!;
    var output = p.StandardOutput.ReadToEndAsync();
    string errors = p.StandardError.ReadToEnd();
    p.WaitForExit();
    if (p.ExitCode != 0) throw new InvalidOperationException($"{string.Join(' ', command)}: {errors}");
    return output.Result;
}
