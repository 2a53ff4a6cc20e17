namespace Podvisor.Cli.Tests;

/// <summary>
/// <c>podvisor run</c> refuses bad input before anything exists: a clear message naming the problem,
/// exit code 2, and nothing left behind (no temporary files, no emulated host started).
/// </summary>
public sealed class RunInputTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("podvisor-cli-").FullName;
    private readonly string _tmp;

    public RunInputTests()
    {
        _tmp = Path.Combine(_work, "tmp");
        Directory.CreateDirectory(_tmp);
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private static string Kernel => Path.GetFullPath(Path.Combine(Podvisor.RepositoryRoot, "..", "shared", "guest", "bzImage"));

    private string Write(string name, string text)
    {
        string path = Path.Combine(_work, name);
        File.WriteAllText(path, text);
        return path;
    }

    private void AssertRefused(string expected, params string[] args)
    {
        var result = Podvisor.Run(args, _tmp);
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}; stderr: {result.Stderr}");
        Assert.Contains(expected, result.Stderr);
        Assert.StartsWith("error: ", result.Stderr);
        Assert.Equal("", result.Stdout);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_tmp));
    }

    private string Manifest(string domain, string extra = "") => Write("vm.yaml", $"""
        apiVersion: podvisor.io/v1alpha1
        kind: VirtualMachine
        metadata:
          name: test
        spec:
          runStrategy: Always
          template:
            spec:
              domain:
        {domain}
        {extra}
        """);

    private const string GoodDomain = """
                memory:
                  guest: 128Mi
                firmware:
                  kernelBoot:
                    kernelArgs: console=ttyS0 quiet
                    hostPath:
                      kernelPath: KERNEL
        """;

    [Fact]
    public void DryRunOfTheExampleManifestShowsTheMachine()
    {
        var result = Podvisor.Run(["run", "examples/vm.yaml", "--dry-run"], _tmp);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains($"kernel:  {Kernel}", result.Stdout);                   // relative to the manifest's folder
        Assert.Contains("initrd:  " + Path.Combine(Path.GetDirectoryName(Kernel)!, "initrd.gz"), result.Stdout);
        Assert.Contains("cpus:    1", result.Stdout);
        Assert.Contains("memory:  256 MiB", result.Stdout);
        Assert.Contains("microvm: 1 vCPU, 256 MiB", result.Stderr);
    }

    [Fact]
    public void DryRunOfTheDiskExampleShowsItsDevices()
    {
        // A copy of the example beside the guest files' relative path, so the DiskOrCreate image lands in the test's folder.
        string examples = Path.Combine(_work, "a", "b");
        Directory.CreateDirectory(examples);
        string manifest = Path.Combine(examples, "vm-disks.yaml");
        File.WriteAllText(manifest, File.ReadAllText(Path.Combine(Podvisor.RepositoryRoot, "examples", "vm-disks.yaml"))
            .Replace("../../shared/guest/", Path.GetDirectoryName(Kernel) + "/"));
        var result = Podvisor.Run(["run", manifest, "--dry-run"], _tmp);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains($"disk:    /dev/vda {Path.Combine(examples, "microvm-data.img")} id=data-disk", result.Stdout);
        Assert.Contains("scratch.img", result.Stdout);
        Assert.Contains("rng:     virtio-rng", result.Stdout);
        Assert.Equal(64 << 20, new FileInfo(Path.Combine(examples, "microvm-data.img")).Length);
    }

    [Fact]
    public void DryRunUsesKernelArgsAndTopology()
    {
        string path = Manifest(GoodDomain.Replace("KERNEL", Kernel) + "\n        cpu: {sockets: 1, cores: 2, threads: 1}");
        var result = Podvisor.Run(["run", path, "--dry-run"], _tmp);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("cmdline: console=ttyS0 quiet", result.Stdout);
        Assert.Contains("cpus:    2", result.Stdout);
        Assert.Contains("memory:  128 MiB", result.Stdout);
    }

    [Fact]
    public void DryRunShowsTheConsole()
    {
        var result = Podvisor.Run(["run", "examples/vm.yaml", "--dry-run", "--console", "socket:/run/podvisor/vm.sock"], _tmp);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("console: socket:/run/podvisor/vm.sock", result.Stdout);
    }

    [Fact]
    public void DryRunWithHugePagesFromFlagsAndFromTheManifest()
    {
        var flags = Podvisor.Run(["run", "--kernel", Kernel, "--memory", "512", "--hugepages", "2M", "--dry-run"], _tmp);
        Assert.True(flags.ExitCode == 0, flags.Stderr);
        Assert.Contains("memory:  512 MiB on 2 MiB huge pages", flags.Stdout);
        string path = Manifest(GoodDomain.Replace("KERNEL", Kernel).Replace("guest: 128Mi", "guest: 2Gi\n          hugepages: {pageSize: 1Gi}"));
        var manifest = Podvisor.Run(["run", path, "--dry-run"], _tmp);
        Assert.True(manifest.ExitCode == 0, manifest.Stderr);
        Assert.Contains("memory:  2048 MiB on 1024 MiB huge pages", manifest.Stdout);
    }

    [Fact]
    public void HugePagesOfAnUnknownSize() => AssertRefused("--hugepages 4K: give 2M or 1G", "run", "--kernel", Kernel, "--hugepages", "4K");

    [Theory]
    [InlineData("serial", "--console serial: give stdio, file:PATH or socket:PATH")]
    [InlineData("file:", "--console file: needs a path (file:PATH)")]
    [InlineData("socket:", "--console socket: needs a path (socket:PATH)")]
    public void BadConsoleTargets(string console, string expected) =>
        AssertRefused(expected, "run", "--kernel", Kernel, "--console", console);

    [Fact]
    public void MissingKernel() => AssertRefused("kernel /nonexistent/bzImage does not exist", "run", "--kernel", "/nonexistent/bzImage");

    [Fact]
    public void AFileThatIsNotAKernel() =>
        AssertRefused("is not a Linux kernel: neither a bzImage", "run", "--kernel", Write("random.bin", new string('x', 8192)));

    [Fact]
    public void ZeroVcpus() => AssertRefused("cpus must be between 1 and 254, got 0", "run", "--kernel", Kernel, "--cpus", "0");

    [Fact]
    public void NothingToBoot() => AssertRefused("give a VirtualMachine manifest (podvisor run vm.yaml) or --kernel", "run");

    [Fact]
    public void MalformedManifestNamesTheLine() =>
        AssertRefused("vm.yaml: line 4, column 1: ", "run", Write("vm.yaml", "apiVersion: podvisor.io/v1alpha1\nkind: VirtualMachine\nspec: [\n"));

    [Fact]
    public void ManifestWithAnUnknownFieldNamesIt() =>
        AssertRefused("spec.template.spec.domain.cpus: unknown field", "run", Manifest(GoodDomain.Replace("KERNEL", Kernel) + "\n        cpus: 2"));

    [Fact]
    public void ManifestWithZeroCoresNamesTheField() =>
        AssertRefused("spec.template.spec.domain.cpu.cores: must be at least 1, got 0", "run",
            Manifest(GoodDomain.Replace("KERNEL", Kernel) + "\n        cpu: {cores: 0}"));

    [Fact]
    public void ManifestWhoseKernelIsMissing() =>
        AssertRefused("kernel /nonexistent/vmlinuz does not exist", "run", Manifest(GoodDomain.Replace("KERNEL", "/nonexistent/vmlinuz")));

    [Fact]
    public void KubeVirtApiVersionSaysWhatToChange() =>
        AssertRefused("change it to podvisor.io/v1alpha1", "run",
            Write("kv.yaml", File.ReadAllText(Path.Combine(Podvisor.RepositoryRoot, "examples", "vm.yaml")).Replace("podvisor.io/v1alpha1", "kubevirt.io/v1")));

    [Fact]
    public void ManifestAndFlagsTogetherAreRefused() =>
        AssertRefused("drop --cpus", "run", Path.Combine(Podvisor.RepositoryRoot, "examples", "vm.yaml"), "--cpus", "2");

    [Fact]
    public void WhatALocalRunCannotDoYetIsNamedNotDropped() =>
        AssertRefused("spec.template.spec.volumes[0].containerDisk: needs a cluster (the launcher pod prepares it); podvisor run takes hostDisk and emptyDisk volumes", "run",
            Manifest(GoodDomain.Replace("KERNEL", Kernel) + "\n        devices:\n          disks:\n          - name: root",
                "      volumes:\n      - name: root\n        containerDisk: {image: example/disk}"));

    [Fact]
    public void DryRunShowsDisksAndRngFromFlags()
    {
        string image = Path.Combine(_work, "disk.img");
        File.WriteAllBytes(image, new byte[4096]);
        var result = Podvisor.Run(["run", "--kernel", Kernel, "--disk", image, "--disk", $"{image},readonly,id=data,io=threads", "--rng", "--dry-run"], _tmp);
        Assert.DoesNotContain("balloon:", result.Stdout);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains($"disk:    /dev/vda {image}\n", result.Stdout);
        Assert.Contains($"disk:    /dev/vdb {image} (read-only) id=data io=threads", result.Stdout);
        Assert.Contains("rng:     virtio-rng", result.Stdout);
    }

    [Fact]
    public void DryRunMapsHostDiskEmptyDiskAndRngFromTheManifest()
    {
        string image = Path.Combine(_work, "root.img");
        File.WriteAllBytes(image, new byte[4096]);
        string created = Path.Combine(_work, "created.img");
        string manifest = Manifest(GoodDomain.Replace("KERNEL", Kernel) + """

                    devices:
                      rng: {}
                      disks:
                      - name: root
                        serial: root-disk
                        io: native
                      - name: scratch
                        io: threads
                      - name: made
                        disk: {readonly: true}
            """, $$"""
                  volumes:
                  - name: root
                    hostDisk: {path: {{image}}, type: Disk}
                  - name: scratch
                    emptyDisk: {capacity: 64Mi}
                  - name: made
                    hostDisk: {path: {{created}}, type: DiskOrCreate, capacity: 1Mi}
            """);
        var result = Podvisor.Run(["run", manifest, "--dry-run"], _tmp);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains($"disk:    /dev/vda {image} id=root-disk io=io_uring", result.Stdout);     // KubeVirt's native
        Assert.Matches(@"disk:    /dev/vdb /\S+/podvisor-emptydisk-\w+/scratch.img io=threads\n", result.Stdout);
        Assert.Contains($"disk:    /dev/vdc {created} (read-only)", result.Stdout);
        Assert.Contains("rng:     virtio-rng", result.Stdout);
        Assert.Contains("balloon: virtio-balloon with free page reporting", result.Stdout);   // KubeVirt's default
        Assert.Equal(1 << 20, new FileInfo(created).Length);       // DiskOrCreate made it, and it stays
        string scratch = System.Text.RegularExpressions.Regex.Match(result.Stdout, @"/\S+/scratch.img").Value;
        Assert.False(File.Exists(scratch), "the emptyDisk image outlived the run");
    }

    [Theory]
    [InlineData("--disk ,readonly", "--disk ,readonly: give PATH[,readonly][,id=SERIAL][,io=io_uring|threads|sync]")]
    [InlineData("--disk IMAGE,io=aio", "unknown I/O mode 'aio' (give io_uring, threads or sync)")]
    [InlineData("--disk IMAGE,rw", "unknown option 'rw'")]
    [InlineData("--disk /nonexistent/disk.img", "disk /nonexistent/disk.img does not exist")]
    [InlineData("--disk IMAGE,id=a-serial-that-is-far-too-long", "must be at most 20 printable ASCII characters")]
    public void BadDisks(string arguments, string expected)
    {
        string image = Path.Combine(_work, "disk.img");
        File.WriteAllBytes(image, new byte[4096]);
        AssertRefused(expected, ["run", "--kernel", Kernel, .. arguments.Replace("IMAGE", image).Split(' ')]);
    }

    [Fact]
    public void DryRunShowsInterfaces()
    {
        var result = Podvisor.Run(["run", "--kernel", Kernel, "--net", "tap=pv0,mac=02:00:00:00:00:07", "--net", "tap=pv1", "--dry-run"], _tmp);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("net:     eth0 on tap pv0 mac 02:00:00:00:00:07", result.Stdout);
        Assert.Contains("net:     eth1 on tap pv1\n", result.Stdout);
    }

    [Theory]
    [InlineData("mac=02:00:00:00:00:01", "name the TAP device")]
    [InlineData("tap=pv0,mac=01:00:00:00:00:01", "multicast")]
    [InlineData("tap=pv0,speed=10G", "unknown option 'speed=10G'")]
    [InlineData("tap=a-name-that-is-too-long", "tap name 'a-name-that-is-too-long' must be 1 to 15 printable characters")]
    public void BadInterfaces(string value, string expected) => AssertRefused(expected, "run", "--kernel", Kernel, "--net", value);

    [Fact]
    public void DryRunShowsVsock()
    {
        var result = Podvisor.Run(["run", "--kernel", Kernel, "--vsock", Path.Combine(_work, "vm.vsock") + ",cid=9", "--dry-run"], _tmp);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains($"vsock:   cid 9 on {Path.Combine(_work, "vm.vsock")}", result.Stdout);
    }

    [Theory]
    [InlineData("X,cid=2", "vsock guest CID must be between 3 and")]
    [InlineData("X,port=2", "unknown option 'port=2'")]
    [InlineData("/nonexistent/dir/vm.vsock", "folder /nonexistent/dir does not exist")]
    public void BadVsock(string value, string expected) =>
        AssertRefused(expected, "run", "--kernel", Kernel, "--vsock", value.Replace("X", Path.Combine(_work, "vm.vsock")));

    [Fact]
    public void TwoInterfacesOnOneTap() => AssertRefused("each interface needs its own tap", "run", "--kernel", Kernel, "--net", "tap=pv0", "--net", "tap=pv0");

    [Fact]
    public void ADiskCacheModeThatIsNotOffered() =>
        AssertRefused("disks[0].cache: cache mode none is not supported yet", "run",
            Manifest(GoodDomain.Replace("KERNEL", Kernel) + "\n        devices:\n          disks:\n          - name: root\n            cache: none",
                "      volumes:\n      - name: root\n        emptyDisk: {capacity: 1Gi}"));
}
