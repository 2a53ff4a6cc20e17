using System.Text.Json;

namespace Podvisor.Api.Tests;

public sealed class ManifestReaderTests
{
    private static string Example(string name) => Path.Combine(AppContext.BaseDirectory, "examples", name);

    private static ManifestException Refused<T>(string yaml) where T : class =>
        Assert.Throws<ManifestException>(() => ManifestReader.ReadSingle<T>(yaml, "test.yaml"));

    [Fact]
    public void ReadsTheExampleVirtualMachine()
    {
        var vm = ManifestReader.ReadSingle<VirtualMachine>(Example("vm.yaml"));
        Assert.Equal("microvm", vm.Metadata.Name);
        Assert.Equal(RunStrategies.Always, vm.Spec.RunStrategy);
        var domain = vm.Spec.Template!.Spec!.Domain!;
        Assert.Equal(1, domain.Cpu!.Cores);
        Assert.Equal("256Mi", domain.Memory!.Guest);
        Assert.EndsWith("bzImage", domain.Firmware!.KernelBoot!.HostPath!.KernelPath);
        Assert.Empty(ApiValidation.Validate(vm));
    }

    [Fact]
    public void TheClusterExampleIsAValidVmOnThePodNetwork()
    {
        var vm = ManifestReader.ReadSingle<VirtualMachine>(Example("vm-cluster.yaml"));
        Assert.Equal("microvm-net", vm.Metadata.Name);
        var spec = vm.Spec.Template!.Spec!;
        Assert.NotNull(Assert.Single(spec.Domain!.Devices!.Interfaces!).Masquerade);
        Assert.NotNull(Assert.Single(spec.Networks!).Pod);
        Assert.StartsWith("/var/lib/podvisor/guest/", spec.Domain.Firmware!.KernelBoot!.HostPath!.KernelPath);
        Assert.Empty(ApiValidation.Validate(vm));
    }

    [Fact]
    public void TheCloudInitExampleIsAValidVmBesideItsClaim()
    {
        string path = Example("vm-cloud-init.yaml");
        var documents = ManifestReader.ReadDocuments(File.ReadAllText(path), path);
        Assert.Equal(["PersistentVolumeClaim", "VirtualMachine"], documents.Select(d => d.Kind));
        var vm = ManifestReader.ReadSingle<VirtualMachine>(documents, path);
        Assert.Equal("debian-cloud", vm.Metadata.Name);
        var spec = vm.Spec.Template!.Spec!;
        Assert.Equal(["root", "cloudinit"], spec.Domain!.Devices!.Disks!.Select(d => d.Name));
        Assert.Equal("debian-cloud-root", spec.Volumes![0].PersistentVolumeClaim!.ClaimName);
        var seed = spec.Volumes[1].CloudInitNoCloud!;
        Assert.StartsWith("#cloud-config\n", seed.UserData);
        Assert.Contains("dhcp4: true", seed.NetworkData);
        Assert.Empty(ApiValidation.Validate(vm));
    }

    /// <summary>KubeVirt's own example VM (vm-cirros style, kernel boot from a container), apiVersion changed only.</summary>
    [Fact]
    public void AKubeVirtManifestReadsAfterChangingOnlyApiVersion()
    {
        const string kubevirt = """
            apiVersion: kubevirt.io/v1
            kind: VirtualMachine
            metadata:
              name: testvm
              labels:
                kubevirt.io/vm: testvm
            spec:
              runStrategy: Always
              template:
                metadata:
                  labels:
                    kubevirt.io/domain: testvm
                spec:
                  evictionStrategy: LiveMigrate
                  terminationGracePeriodSeconds: 0
                  nodeSelector:
                    kubernetes.io/os: linux
                  tolerations:
                  - key: node.kubernetes.io/unreachable
                    operator: Exists
                    effect: NoExecute
                    tolerationSeconds: 30
                  domain:
                    cpu:
                      sockets: 1
                      cores: 2
                      threads: 1
                    resources:
                      requests:
                        memory: 1Gi
                    firmware:
                      kernelBoot:
                        kernelArgs: console=ttyS0
                        container:
                          image: quay.io/kubevirt/alpine-ext-kernel-boot-demo
                          kernelPath: /boot/vmlinuz-virt
                          initrdPath: /boot/initramfs-virt
                          imagePullPolicy: Always
                    devices:
                      disks:
                      - name: containerdisk
                        disk:
                          bus: virtio
                      - name: cloudinitdisk
                        disk:
                          bus: virtio
                      interfaces:
                      - name: default
                        masquerade: {}
                      rng: {}
                  networks:
                  - name: default
                    pod: {}
                  volumes:
                  - name: containerdisk
                    containerDisk:
                      image: quay.io/kubevirt/cirros-container-disk-demo
                  - name: cloudinitdisk
                    cloudInitNoCloud:
                      userData: |
                        #cloud-config
                        password: fedora
            """;
        var refused = Refused<VirtualMachine>(kubevirt);
        Assert.Contains("change it to podvisor.io/v1alpha1", refused.Message);

        var vm = ManifestReader.ReadSingle<VirtualMachine>(kubevirt.Replace("kubevirt.io/v1", ApiGroup.ApiVersion), "testvm.yaml");
        var spec = vm.Spec.Template!.Spec!;
        Assert.Equal("kubevirt.io/domain", Assert.Single(vm.Spec.Template.Metadata!.Labels).Key);
        Assert.Equal(2, spec.Domain!.Vcpus());
        Assert.Equal(1UL << 30, spec.Domain!.GuestMemoryBytes());
        Assert.Equal(30, Assert.Single(spec.Tolerations!).TolerationSeconds);
        Assert.Equal(["containerdisk", "cloudinitdisk"], spec.Domain!.Devices!.Disks!.Select(d => d.Name));
        Assert.NotNull(spec.Domain!.Devices!.Interfaces![0].Masquerade);
        Assert.NotNull(spec.Domain!.Devices!.Rng);
        Assert.StartsWith("#cloud-config\n", spec.Volumes![1].CloudInitNoCloud!.UserData);
        Assert.Equal(EvictionStrategies.LiveMigrate, spec.EvictionStrategy);
        Assert.Empty(ApiValidation.Validate(vm));
    }

    [Fact]
    public void AnUnknownFieldIsRefusedWithItsPathAndLine()
    {
        var e = Refused<VirtualMachine>("""
            apiVersion: podvisor.io/v1alpha1
            kind: VirtualMachine
            metadata: {name: x}
            spec:
              template:
                spec:
                  domain:
                    cpu:
                      cpus: 2
            """);
        Assert.Equal("line 9: spec.template.spec.domain.cpu.cpus: unknown field", Assert.Single(e.Problems));
    }

    [Fact]
    public void AWrongTypeIsRefusedWithWhatWasExpected()
    {
        var e = Refused<VirtualMachine>("""
            apiVersion: podvisor.io/v1alpha1
            kind: VirtualMachine
            metadata: {name: x}
            spec:
              running: "yes"
            """);
        Assert.Equal("line 5: spec.running: expected true or false", Assert.Single(e.Problems));
    }

    [Fact]
    public void BrokenYamlNamesLineAndColumn()
    {
        var e = Refused<VirtualMachine>("apiVersion: podvisor.io/v1alpha1\nkind: [VirtualMachine\n");
        Assert.StartsWith("line ", Assert.Single(e.Problems));
        Assert.Contains("test.yaml", e.Message);
    }

    [Theory]
    [InlineData("", "the manifest is empty")]
    [InlineData("kind: VirtualMachine\n", "apiVersion is missing")]
    [InlineData("apiVersion: podvisor.io/v1alpha1\nkind: Pod\n", "no VirtualMachine in the manifest (found: Pod)")]
    [InlineData("- a\n- b\n", "must be a mapping")]
    public void DocumentsThatAreNotAVirtualMachineAreExplained(string yaml, string expected) =>
        Assert.Contains(expected, Refused<VirtualMachine>(yaml).Message);

    [Fact]
    public void PicksTheOneVirtualMachineOfAMultiDocumentManifestAndRefusesTwo()
    {
        const string doc = "apiVersion: podvisor.io/v1alpha1\nkind: VirtualMachine\nmetadata: {name: NAME}\n";
        const string migration = "apiVersion: podvisor.io/v1alpha1\nkind: VirtualMachineInstanceMigration\nmetadata: {name: m}\nspec: {vmiName: a}\n";
        var vm = ManifestReader.ReadSingle<VirtualMachine>($"{migration}---\n{doc.Replace("NAME", "a")}---\n", "m.yaml");
        Assert.Equal("a", vm.Metadata.Name);
        Assert.Equal("a", ManifestReader.ReadSingle<VirtualMachineInstanceMigration>($"{migration}---\n{doc}", "m.yaml").Spec.VmiName);
        Assert.Contains("2 VirtualMachine documents (lines 1, 5)", Refused<VirtualMachine>($"{doc.Replace("NAME", "a")}---\n{doc.Replace("NAME", "b")}").Message);
    }

    [Fact]
    public void JsonManifestsReadToo()
    {
        var vm = ManifestReader.ReadSingle<VirtualMachine>(
            """{"apiVersion":"podvisor.io/v1alpha1","kind":"VirtualMachine","metadata":{"name":"j"},"spec":{"running":false}}""", "vm.json");
        Assert.Equal("j", vm.Metadata.Name);
        Assert.False(vm.Spec.Running);
    }

    [Fact]
    public void SerializesWithKubeVirtFieldNamesAndReadsBackTheSame()
    {
        var vm = ManifestReader.ReadSingle<VirtualMachine>(Example("vm.yaml"));
        string json = JsonSerializer.Serialize(vm, ApiJsonContext.Default.VirtualMachine);
        Assert.Contains("\"runStrategy\":\"Always\"", json);
        Assert.Contains("\"kernelBoot\":{\"hostPath\":{", json);
        Assert.DoesNotContain("null", json);                           // unset fields are left out, not sent as null
        var back = JsonSerializer.Deserialize(json, ApiJsonContext.Default.VirtualMachine)!;
        Assert.Equal(json, JsonSerializer.Serialize(back, ApiJsonContext.Default.VirtualMachine));
    }
}
