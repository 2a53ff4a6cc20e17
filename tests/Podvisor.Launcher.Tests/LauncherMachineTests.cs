using Podvisor.Vmm.Devices.Virtio.Block;

namespace Podvisor.Launcher.Tests;

public sealed class LauncherMachineTests : IDisposable
{
    private readonly TestVmi _pod = new();

    public void Dispose() => _pod.Dispose();

    private Vmm.Machine.MachineConfig Prepare(string devices = "{}", string volumes = "[]", string extraSpec = "") =>
        LauncherMachine.Prepare(TestVmi.Parse(TestVmi.Json(devices, volumes, extraSpec)), _pod.Layout);

    private LauncherException Refused(string devices = "{}", string volumes = "[]", string extraSpec = "") =>
        Assert.Throws<LauncherException>(() => Prepare(devices, volumes, extraSpec));

    [Fact]
    public void TheDomainBecomesTheMachineWithTheKernelFromThePod()
    {
        var config = Prepare("""{ "rng": {}, "disks": [] }""");
        Assert.Equal(2, config.Cpus);
        Assert.Equal(128UL, config.MemoryMiB);
        Assert.Equal("console=ttyS0", config.CommandLine);
        Assert.Equal(_pod.Layout.KernelFile, config.KernelPath);
        Assert.Equal(_pod.Layout.InitrdFile, config.InitrdPath);
        Assert.True(config.Rng);
        Assert.NotNull(config.Balloon);                               // KubeVirt attaches a balloon unless told not to
        Assert.Null(config.Vsock);
    }

    [Fact]
    public void AnEmptyDiskIsASparseFileOfItsCapacityMadeOnceAndKept()
    {
        string folder = _pod.VolumeFolder("scratch");
        const string Devices = """{ "disks": [ { "name": "scratch", "serial": "S1", "io": "threads" } ] }""";
        const string Volumes = """[ { "name": "scratch", "emptyDisk": { "capacity": "64Mi" } } ]""";
        var disk = Assert.Single(Prepare(Devices, Volumes).Disks);
        Assert.Equal(Path.Combine(folder, "disk.img"), disk.Path);
        Assert.Equal(64L << 20, new FileInfo(disk.Path).Length);
        Assert.Equal("S1", disk.Id);
        Assert.Equal(BlockIoMode.Threads, disk.Io);
        File.WriteAllText(disk.Path, "guest data");                  // the launcher restarting must not wipe it
        Prepare(Devices, Volumes);
        Assert.Equal("guest data", File.ReadAllText(disk.Path));
    }

    [Fact]
    public void AFilesystemClaimIsItsDiskImgAndABlockClaimItsDeviceNode()
    {
        File.WriteAllText(Path.Combine(_pod.VolumeFolder("root"), "disk.img"), "");
        string device = _pod.Layout.BlockDevice("data");
        Directory.CreateDirectory(Path.GetDirectoryName(device)!);
        File.WriteAllText(device, "");                               // stands in for the device node the kubelet makes
        var config = Prepare("""{ "disks": [ { "name": "root" }, { "name": "data", "disk": { "readonly": true } } ] }""",
            """[ { "name": "root", "persistentVolumeClaim": { "claimName": "root-pvc" } }, { "name": "data", "persistentVolumeClaim": { "claimName": "data-pvc" } } ]""");
        Assert.Equal(Path.Combine(_pod.Layout.VolumeDirectory("root"), "disk.img"), config.Disks[0].Path);
        Assert.Equal(device, config.Disks[1].Path);
        Assert.True(config.Disks[1].ReadOnly);
    }

    [Fact]
    public void AClaimWithoutADiskImageIsRefusedWithWhatToDo()
    {
        _pod.VolumeFolder("root");
        var e = Refused("""{ "disks": [ { "name": "root" } ] }""", """[ { "name": "root", "persistentVolumeClaim": { "claimName": "root-pvc" } } ]""");
        Assert.Contains("claim root-pvc holds no disk.img", e.Message);
    }

    [Fact]
    public void AHostDiskMustExistUnlessDiskOrCreateWhichMakesIt()
    {
        _pod.VolumeFolder("h");
        var e = Refused("""{ "disks": [ { "name": "h" } ] }""", """[ { "name": "h", "hostDisk": { "path": "/data/h.img", "type": "Disk" } } ]""");
        Assert.Contains("hostDisk /data/h.img does not exist", e.Message);
        var config = Prepare("""{ "disks": [ { "name": "h" } ] }""", """[ { "name": "h", "hostDisk": { "path": "/data/h.img", "type": "DiskOrCreate", "capacity": "1Mi" } } ]""");
        Assert.Equal(Path.Combine(_pod.Layout.VolumeDirectory("h"), "h.img"), config.Disks[0].Path);
        Assert.Equal(1L << 20, new FileInfo(config.Disks[0].Path).Length);
    }

    [Fact]
    public void AContainerDiskNotCopiedOutNamesItsImage()
    {
        _pod.VolumeFolder("c");
        var e = Refused("""{ "disks": [ { "name": "c" } ] }""", """[ { "name": "c", "containerDisk": { "image": "example.org/disk:1" } } ]""");
        Assert.Contains("example.org/disk:1", e.Message);
        File.WriteAllText(Path.Combine(_pod.Layout.VolumeDirectory("c"), "disk.img"), "");
        Assert.EndsWith("/c/disk.img", Prepare("""{ "disks": [ { "name": "c" } ] }""", """[ { "name": "c", "containerDisk": { "image": "example.org/disk:1" } } ]""").Disks[0].Path);
    }

    [Fact]
    public void AMasqueradeNicIsAVirtioNicOnTheLaunchersTapWithTheVmisMac()
    {
        var net = Assert.Single(Prepare("""{ "interfaces": [ { "name": "default", "masquerade": {}, "macAddress": "02:00:00:00:00:2a" } ] }""", "[]",
            """, "networks": [ { "name": "default", "pod": {} } ]""").Networks);
        Assert.Equal("tap0", net.TapName);
        Assert.Equal(new Vmm.Devices.Virtio.Net.MacAddress(2, 0, 0, 0, 0, 0x2a), net.Mac);
    }

    [Fact]
    public void WhatTheLauncherCannotProvideIsRefusedByField()
    {
        // The API refuses these up front; a launcher handed such a VMI anyway refuses it too, by field.
        var vmi = TestVmi.ParseUnchecked(TestVmi.Json("""{ "interfaces": [ { "name": "a", "masquerade": {} }, { "name": "b", "bridge": {} } ] }""", "[]",
            """, "networks": [ { "name": "a", "pod": {} }, { "name": "b", "pod": {} } ]"""));
        var e = Assert.Throws<LauncherException>(() => LauncherMachine.Prepare(vmi, _pod.Layout));
        Assert.Contains("spec.networks: one pod network is what a launcher binds (got 2)", e.Message);
        Assert.Contains("spec.domain.devices.interfaces: give one interface for the pod network (got 2)", e.Message);
    }

    [Fact]
    public void ACloudInitVolumeIsAReadOnlyNoCloudSeedForThisInstance()
    {
        _pod.VolumeFolder("ci");
        var disk = Assert.Single(Prepare("""{ "disks": [ { "name": "ci" } ] }""",
            """[ { "name": "ci", "cloudInitNoCloud": { "userDataBase64": "I2Nsb3VkLWNvbmZpZwo=", "networkData": "version: 2\n" } } ]""",
            """, "hostname": "web-1" """).Disks);
        Assert.True(disk.ReadOnly);
        var files = Iso9660ImageTests.ReadRoot(File.ReadAllBytes(disk.Path));
        Assert.Equal("#cloud-config\n", System.Text.Encoding.UTF8.GetString(files["USER-DATA;1"]));
        Assert.Equal("instance-id: 0b7c6a56-3f55-4c1e-9a55-000000000001\nlocal-hostname: web-1\n", System.Text.Encoding.UTF8.GetString(files["META-DATA;1"]));
        Assert.Equal("version: 2\n", System.Text.Encoding.UTF8.GetString(files["NETWORK-CONFIG;1"]));
    }

    [Fact]
    public void AMissingKernelIsNamed()
    {
        File.Delete(_pod.Layout.KernelFile);
        Assert.Contains(_pod.Layout.KernelFile, Refused().Message);
    }

    [Fact]
    public void VsockGetsTheLaunchersOwnSocket()
    {
        var config = Prepare("""{ "autoattachVSOCK": true }""");
        Assert.Equal(LauncherMachine.GuestCid, config.Vsock!.GuestCid);
        Assert.Equal(_pod.Layout.VsockSocket, config.Vsock.SocketPath);
        Assert.True(Directory.Exists(Path.GetDirectoryName(_pod.Layout.VsockSocket)));
    }
}
