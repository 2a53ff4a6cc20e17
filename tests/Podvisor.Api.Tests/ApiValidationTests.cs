namespace Podvisor.Api.Tests;

public sealed class ApiValidationTests
{
    private static VirtualMachine Valid() => new()
    {
        Metadata = new() { Name = "vm" },
        Spec = new()
        {
            RunStrategy = RunStrategies.Always,
            Template = new()
            {
                Spec = new()
                {
                    Domain = new()
                    {
                        Memory = new() { Guest = "256Mi" },
                        Firmware = new() { KernelBoot = new() { HostPath = new() { KernelPath = "/boot/bzImage" } } },
                    },
                },
            },
        },
    };

    private static IReadOnlyList<string> Errors(Action<VirtualMachine> change)
    {
        var vm = Valid();
        change(vm);
        return ApiValidation.Validate(vm).Select(e => e.ToString()).ToList();
    }

    private static DomainSpec Domain(VirtualMachine vm) => vm.Spec.Template!.Spec!.Domain!;

    [Fact]
    public void TheMinimalVmIsValid() => Assert.Empty(Errors(_ => { }));

    [Fact]
    public void RunningAndRunStrategyAreExclusive() =>
        Assert.Equal(["spec.running: running and runStrategy are mutually exclusive; use runStrategy"], Errors(vm => vm.Spec.Running = true));

    [Fact]
    public void UnknownRunStrategyListsTheValidOnes() =>
        Assert.Contains("Always, RerunOnFailure, Manual, Halted, Once", Assert.Single(Errors(vm => vm.Spec.RunStrategy = "always")));

    [Fact]
    public void MissingTemplateIsNamed() =>
        Assert.Equal(["spec.template.spec: required: the instance to run"], Errors(vm => vm.Spec.Template = null));

    [Theory]
    [InlineData(0, 1, 1, "spec.template.spec.domain.cpu.sockets: must be at least 1, got 0")]
    [InlineData(1, -2, 1, "spec.template.spec.domain.cpu.cores: must be at least 1, got -2")]
    [InlineData(16, 16, 1, "spec.template.spec.domain.cpu: sockets × cores × threads must be at most 254 vCPUs")]
    public void CpuTopologyIsChecked(int sockets, int cores, int threads, string expected) =>
        Assert.Equal([expected], Errors(vm => Domain(vm).Cpu = new() { Sockets = sockets, Cores = cores, Threads = threads }));

    [Theory]
    [InlineData("lots", "\"lots\" is not a quantity of bytes")]
    [InlineData("8Mi", "must be at least 16Mi")]
    [InlineData("100000000", "must be a whole number of MiB")]
    public void GuestMemoryIsChecked(string quantity, string expected) =>
        Assert.Contains(expected, Assert.Single(Errors(vm => Domain(vm).Memory!.Guest = quantity)));

    [Fact]
    public void MemoryFromResourceRequestsCountsAndNoneAtAllIsNamed()
    {
        Assert.Empty(Errors(vm =>
        {
            Domain(vm).Memory = null;
            Domain(vm).Resources = new() { Requests = new() { ["memory"] = "1Gi" } };
        }));
        Assert.Equal(["spec.template.spec.domain.memory.guest: required (or resources.requests.memory): how much RAM the guest gets"],
            Errors(vm => Domain(vm).Memory = null));
    }

    [Fact]
    public void KernelBootNeedsExactlyOneSource()
    {
        Assert.Contains("there is no BIOS or UEFI firmware", Assert.Single(Errors(vm => Domain(vm).Firmware = null)));
        Assert.Contains("exactly one of container", Assert.Single(Errors(vm =>
            Domain(vm).Firmware!.KernelBoot!.Container = new() { Image = "img", KernelPath = "/k" })));
        Assert.Equal(["spec.template.spec.domain.firmware.kernelBoot.container.image: required",
                      "spec.template.spec.domain.firmware.kernelBoot.container.kernelPath: required"],
            Errors(vm => Domain(vm).Firmware!.KernelBoot = new() { Container = new() }));
        Assert.Equal(["spec.template.spec.domain.firmware.kernelBoot.kernelArgs: must be printable ASCII on one line"],
            Errors(vm => Domain(vm).Firmware!.KernelBoot!.KernelArgs = "console=ttyS0\nquiet"));
    }

    [Fact]
    public void DisksAndInterfacesMustReferToVolumesAndNetworks()
    {
        var errors = Errors(vm =>
        {
            Domain(vm).Devices = new()
            {
                Disks = [new() { Name = "root", Io = "native" }, new() { Name = "data", DiskTarget = new() { Bus = "sata" }, Cache = "unsafe", Io = "aio" }],
                Interfaces = [new() { Name = "default" }],
            };
            vm.Spec.Template!.Spec!.Volumes = [new() { Name = "root", EmptyDisk = new() { Capacity = "1Gi" } },
                                                new() { Name = "root", HostDisk = new() { Path = "/d", Type = "Disk" } }];
        });
        Assert.Equal([
            "spec.template.spec.volumes[1].name: another volume is already named \"root\"",
            "spec.template.spec.domain.devices.disks[1].name: no volume is named \"data\"",
            "spec.template.spec.domain.devices.disks[1].disk.bus: \"sata\" is not offered: use virtio",
            "spec.template.spec.domain.devices.disks[1].cache: must be none, writethrough or writeback",
            "spec.template.spec.domain.devices.disks[1].io: must be native, threads or default",
            "spec.template.spec.domain.devices.interfaces[0].name: no network is named \"default\"",
            "spec.template.spec.domain.devices.interfaces[0]: give exactly one binding: masquerade or bridge",
        ], errors);
    }

    [Fact]
    public void ThePodNetworkTakesMasqueradeOnAnIpv4SubnetWithRoomForGatewayAndGuest()
    {
        var errors = Errors(vm =>
        {
            Domain(vm).Devices = new() { Interfaces = [new() { Name = "default", Bridge = new() }, new() { Name = "second", Masquerade = new() }] };
            vm.Spec.Template!.Spec!.Networks = [new() { Name = "default", Pod = new() { VmNetworkCidr = "10.0.2.0/31" } },
                                                 new() { Name = "second", Pod = new() { VmNetworkCidr = "172.16.0.0/16" } }];
        });
        Assert.Equal([
            "spec.template.spec.networks[0].pod.vmNetworkCIDR: \"10.0.2.0/31\" is not an IPv4 subnet with room for a gateway and a guest (prefix at most /30), like 10.0.2.0/24",
            "spec.template.spec.networks[1].pod: only one network can be the pod network (as in KubeVirt)",
            "spec.template.spec.domain.devices.interfaces[0].bridge: the bridge binding is not offered yet: use masquerade: {}",
        ], errors);
    }

    [Fact]
    public void VolumeSourcesAreChecked()
    {
        var errors = Errors(vm => vm.Spec.Template!.Spec!.Volumes =
        [
            new() { Name = "none" },
            new() { Name = "two", ContainerDisk = new() { Image = "i" }, EmptyDisk = new() { Capacity = "1Gi" } },
            new() { Name = "host", HostDisk = new() { Path = "/d", Type = "DiskOrCreate" } },
            new() { Name = "ci", CloudInitNoCloud = new() { UserDataBase64 = "not base64!" } },
        ]);
        Assert.Equal([
            "spec.template.spec.volumes[0]: give exactly one source (containerDisk, persistentVolumeClaim, emptyDisk, hostDisk, cloudInitNoCloud); 0 given",
            "spec.template.spec.volumes[1]: give exactly one source (containerDisk, persistentVolumeClaim, emptyDisk, hostDisk, cloudInitNoCloud); 2 given",
            "spec.template.spec.volumes[2].hostDisk.capacity: required with DiskOrCreate: a quantity of bytes",
            "spec.template.spec.volumes[3].cloudInitNoCloud.userDataBase64: is not valid base64",
        ], errors);
    }

    [Fact]
    public void VmiSpecIsValidatedUnderSpec()
    {
        var vmi = new VirtualMachineInstance { Spec = new() { Domain = new() { Memory = new() { Guest = "1Gi" } } } };
        Assert.Equal(["spec.domain.firmware.kernelBoot: required: Podvisor boots a Linux kernel directly (there is no BIOS or UEFI firmware)"],
            ApiValidation.Validate(vmi).Select(e => e.ToString()));
    }
}
