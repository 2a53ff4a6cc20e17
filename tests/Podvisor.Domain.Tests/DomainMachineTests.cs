using Podvisor.Api;
using Podvisor.Vmm.Devices.Virtio.Block;
using Podvisor.Vmm.Machine;

namespace Podvisor.Domain.Tests;

public sealed class DomainMachineTests
{
    private static DomainSpec Domain(string domainYaml)
    {
        string manifest = $"""
            apiVersion: podvisor.io/v1alpha1
            kind: VirtualMachineInstance
            metadata:
              name: test
            spec:
              domain:
            {string.Join('\n', domainYaml.Split('\n').Select(l => "    " + l))}
            """;
        return ManifestReader.ReadSingle<VirtualMachineInstance>(manifest, "test.yaml").Spec.Domain!;
    }

    [Fact]
    public void CpusMemoryCommandLineAndDevicesComeFromTheDomain()
    {
        var config = DomainMachine.Configure(Domain("""
            cpu:
              cores: 2
              sockets: 2
            memory:
              guest: 768Mi
              hugepages:
                pageSize: 2Mi
            firmware:
              kernelBoot:
                kernelArgs: console=ttyS0 quiet
            devices:
              rng: {}
            """), "/k/vmlinux", "/k/initrd");

        Assert.Equal("/k/vmlinux", config.KernelPath);
        Assert.Equal("/k/initrd", config.InitrdPath);
        Assert.Equal("console=ttyS0 quiet", config.CommandLine);
        Assert.Equal(4, config.Cpus);
        Assert.Equal(768UL, config.MemoryMiB);
        Assert.Equal(2UL, config.HugePageSizeMiB);
        Assert.True(config.Rng);
        Assert.NotNull(config.Balloon);                 // KubeVirt attaches a balloon unless told not to
    }

    [Fact]
    public void DefaultsWhereTheDomainIsSilent()
    {
        var config = DomainMachine.Configure(Domain("""
            memory:
              guest: 256Mi
            """), "/k/bzImage", initrdPath: null);

        Assert.Null(config.InitrdPath);
        Assert.Equal(MachineConfig.DefaultCommandLine, config.CommandLine);
        Assert.Equal(1, config.Cpus);
        Assert.Null(config.HugePageSizeMiB);
        Assert.False(config.Rng);
        Assert.NotNull(config.Balloon);
    }

    [Fact]
    public void NoBalloonWhenTheManifestSaysSo()
    {
        var config = DomainMachine.Configure(Domain("""
            memory:
              guest: 256Mi
              hugepages:
                pageSize: 1Gi
            devices:
              autoattachMemBalloon: false
            """), "/k/vmlinux", null);

        Assert.Null(config.Balloon);
        Assert.Equal(1024UL, config.HugePageSizeMiB);
    }

    [Fact]
    public void OnlyWritebackCachingIsSupported()
    {
        var domain = Domain("""
            memory:
              guest: 256Mi
            devices:
              disks:
              - name: a
                cache: writeback
              - name: b
              - name: c
                cache: none
              - name: d
                cache: writethrough
            """);

        var errors = DomainMachine.Unsupported(domain, "spec.domain").ToList();

        Assert.Equal(["spec.domain.devices.disks[2].cache", "spec.domain.devices.disks[3].cache"], errors.Select(e => e.Path));
        Assert.All(errors, e => Assert.Contains("not supported yet", e.Message));
    }

    [Theory]
    [InlineData("native", BlockIoMode.IoUring)]
    [InlineData("threads", BlockIoMode.Threads)]
    [InlineData("default", null)]
    [InlineData(null, null)]
    public void KubeVirtIoNamesMapToEngines(string? io, BlockIoMode? expected) =>
        Assert.Equal(expected, DomainMachine.IoModeOf(new Disk { Name = "d", Io = io }));

    [Fact]
    public void ADiskKeepsItsSerialAndReadOnlyFlag()
    {
        var disk = new Disk { Name = "data", Serial = "SN-1", Io = "threads", DiskTarget = new DiskTarget { ReadOnly = true } };

        var config = DomainMachine.DiskOf(disk, "/images/data.img");

        Assert.Equal(new DiskConfig("/images/data.img", true, "SN-1", BlockIoMode.Threads), config);
    }

    [Fact]
    public void ASparseFileHasTheCapacityAskedAndNeverReplacesAFile()
    {
        string dir = Directory.CreateTempSubdirectory("podvisor-domain-").FullName;
        try
        {
            string path = Path.Combine(dir, "disk.img");
            DomainMachine.CreateSparse(path, "1Gi");

            Assert.Equal(1L << 30, new FileInfo(path).Length);
            Assert.Throws<IOException>(() => DomainMachine.CreateSparse(path, "1Gi"));     // an existing file is never replaced
            var error = Assert.Throws<ArgumentException>(() => DomainMachine.CreateSparse(Path.Combine(dir, "other.img"), "lots"));
            Assert.Contains("capacity lots is not a quantity of bytes", error.Message);
            Assert.False(File.Exists(Path.Combine(dir, "other.img")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
