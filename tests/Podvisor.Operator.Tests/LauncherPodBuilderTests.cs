using k8s.Models;
using Podvisor.Api;
using Podvisor.Operator.Launcher;

namespace Podvisor.Operator.Tests;

public sealed class LauncherPodBuilderTests
{
    private static VirtualMachineInstance Vmi(Action<VirtualMachineInstanceSpec>? customize = null)
    {
        var vmi = new VirtualMachineInstance
        {
            Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "prod", Uid = "uid-1", Labels = new Dictionary<string, string> { ["app"] = "web" } },
            Spec = Cluster.InstanceSpec(customize),
        };
        ApiDefaults.Apply(vmi);
        return vmi;
    }

    private static V1Pod Build(VirtualMachineInstance vmi, LauncherPodOptions? options = null, Dictionary<string, bool>? block = null) =>
        LauncherPodBuilder.Build(vmi, options ?? new LauncherPodOptions(), block ?? []);

    private static decimal Request(V1Pod pod, string resource) => pod.Spec.Containers[0].Resources.Requests[resource].ToDecimal();

    [Fact]
    public void MemoryIsGuestPlusOverheadAndCpuATenthPerVcpu()
    {
        var vmi = Vmi(s => s.Domain!.Cpu = new CpuSpec { Sockets = 1, Cores = 4, Threads = 1 });
        var pod = Build(vmi);
        ulong overhead = LauncherOverhead.Bytes(vmi.Spec.Domain!);
        Assert.Equal(128m * 1024 * 1024 + overhead, Request(pod, "memory"));
        // 64 MiB base + 128 MiB / 512 + 4 vCPUs × 2 MiB.
        Assert.Equal((64 + 0.25m + 8) * 1024 * 1024, overhead);
        Assert.Equal(0.4m, Request(pod, "cpu"));
        Assert.False(pod.Spec.Containers[0].Resources.Limits.ContainsKey("memory"));
    }

    [Fact]
    public void UserRequestsAndLimitsAreHonoured()
    {
        var pod = Build(Vmi(s => s.Domain!.Resources = new ResourceRequirements
        {
            Requests = new() { ["cpu"] = "2" },
            Limits = new() { ["cpu"] = "3", ["memory"] = "128Mi" },
            OvercommitGuestOverhead = true,
        }));
        Assert.Equal(128m * 1024 * 1024, Request(pod, "memory"));          // overhead not added when overcommitted
        Assert.Equal(2m, Request(pod, "cpu"));
        Assert.Equal(3m, pod.Spec.Containers[0].Resources.Limits["cpu"].ToDecimal());
        Assert.Equal(128m * 1024 * 1024, pod.Spec.Containers[0].Resources.Limits["memory"].ToDecimal());
    }

    [Fact]
    public void DevicesComeAsExtendedResourcesWithoutPrivilegesByDefault()
    {
        var pod = Build(Vmi());
        var container = pod.Spec.Containers[0];
        Assert.Equal(1m, Request(pod, LauncherPodOptions.KvmResource));
        Assert.Equal(1m, container.Resources.Limits[LauncherPodOptions.KvmResource].ToDecimal());
        Assert.False(container.Resources.Requests.ContainsKey(LauncherPodOptions.TunResource));   // no NIC, no TAP
        Assert.Null(container.SecurityContext.Privileged);
        Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
        Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        Assert.Null(container.SecurityContext.Capabilities.Add);
        Assert.False(pod.Spec.AutomountServiceAccountToken);
    }

    [Fact]
    public void LaunchersSendTracesWhereTheOperatorDoes()
    {
        Assert.DoesNotContain(Build(Vmi()).Spec.Containers[0].Env, e => e.Name == "OTEL_EXPORTER_OTLP_ENDPOINT");
        var pod = Build(Vmi(), new LauncherPodOptions { OtlpEndpoint = "http://collector.observability:4317" });
        Assert.Equal("http://collector.observability:4317", pod.Spec.Containers[0].Env.Single(e => e.Name == "OTEL_EXPORTER_OTLP_ENDPOINT").Value);
    }

    [Fact]
    public void PrometheusFindsEachVmsMetricsThroughThePodsAnnotations()
    {
        var pod = Build(Vmi());
        var container = pod.Spec.Containers[0];
        Assert.Equal(["--metrics-port", "8445"], container.Command.SkipWhile(a => a != "--metrics-port"));
        Assert.Equal(8445, container.Ports.Single(p => p.Name == LauncherLabels.MetricsPortName).ContainerPort);
        Assert.Equal("true", pod.Metadata.Annotations["prometheus.io/scrape"]);
        Assert.Equal("8445", pod.Metadata.Annotations["prometheus.io/port"]);
        Assert.Equal("/metrics", pod.Metadata.Annotations["prometheus.io/path"]);
        // The node's name labels the VM's metrics, as KubeVirt's do.
        Assert.Equal("spec.nodeName", container.Env.Single(e => e.Name == "NODE_NAME").ValueFrom.FieldRef.FieldPath);

        var quiet = Build(Vmi(), new LauncherPodOptions { MetricsPort = 0 });
        Assert.DoesNotContain("--metrics-port", quiet.Spec.Containers[0].Command);
        Assert.DoesNotContain(quiet.Spec.Containers[0].Ports, p => p.Name == LauncherLabels.MetricsPortName);
        Assert.False(quiet.Metadata.Annotations.ContainsKey("prometheus.io/scrape"));
    }

    [Fact]
    public void APodNetworkAddsTunAndNetAdmin()
    {
        var pod = Build(Vmi(s =>
        {
            s.Networks = [new Network { Name = "default", Pod = new() }];
            s.Domain!.Devices = new Devices { Interfaces = [new Interface { Name = "default", Masquerade = new() }] };
        }));
        Assert.Equal(1m, Request(pod, LauncherPodOptions.TunResource));
        Assert.Contains("NET_ADMIN", pod.Spec.Containers[0].SecurityContext.Capabilities.Add);
    }

    [Fact]
    public void PrivilegedIsAnExplicitChoice()
    {
        var pod = Build(Vmi(), new LauncherPodOptions { DeviceAccess = DeviceAccess.Privileged });
        Assert.True(pod.Spec.Containers[0].SecurityContext.Privileged);
        Assert.False(pod.Spec.Containers[0].Resources.Requests.ContainsKey(LauncherPodOptions.KvmResource));
    }

    [Fact]
    public void SchedulingConstraintsPassThrough()
    {
        var affinity = new V1Affinity { NodeAffinity = new V1NodeAffinity() };
        var pod = Build(Vmi(s =>
        {
            s.NodeSelector = new Dictionary<string, string> { ["zone"] = "a" };
            s.Affinity = affinity;
            s.Tolerations = [new V1Toleration { Key = "dedicated", OperatorProperty = "Exists" }];
            s.TerminationGracePeriodSeconds = 60;
        }));
        Assert.Equal("a", pod.Spec.NodeSelector["zone"]);
        Assert.Same(affinity, pod.Spec.Affinity);
        Assert.Equal("dedicated", Assert.Single(pod.Spec.Tolerations).Key);
        Assert.Equal(60 + LauncherPodBuilder.ExtraGraceSeconds, pod.Spec.TerminationGracePeriodSeconds);
        Assert.Equal("Never", pod.Spec.RestartPolicy);
    }

    [Fact]
    public void LabelsAndOwnerTieThePodToItsVmi()
    {
        var pod = Build(Vmi());
        Assert.Equal("web", pod.Metadata.Labels["app"]);                     // the VMI's labels, for Services
        Assert.Equal("uid-1", pod.Metadata.Labels[LauncherLabels.CreatedBy]);
        Assert.Equal("web", pod.Metadata.Labels[LauncherLabels.Vmi]);
        Assert.Equal(LauncherLabels.LauncherComponent, pod.Metadata.Labels[LauncherLabels.Component]);
        var owner = Assert.Single(pod.Metadata.OwnerReferences);
        Assert.Equal(("VirtualMachineInstance", "uid-1", true), (owner.Kind, owner.Uid, owner.Controller));
        Assert.Equal("podvisor-launcher-web-", pod.Metadata.GenerateName);
    }

    [Fact]
    public void PvcsMountAsFilesOrBlockDevicesByVolumeMode()
    {
        var pod = Build(Vmi(s => s.Volumes =
        [
            new Volume { Name = "fs", PersistentVolumeClaim = new() { ClaimName = "a", ReadOnly = true } },
            new Volume { Name = "raw", PersistentVolumeClaim = new() { ClaimName = "b" } },
        ]), block: new() { ["a"] = false, ["b"] = true });
        var container = pod.Spec.Containers[0];
        var mount = container.VolumeMounts.Single(m => m.Name == "fs");
        Assert.Equal(($"{LauncherPaths.Volumes}/fs", true), (mount.MountPath, mount.ReadOnlyProperty));
        Assert.Equal($"{LauncherPaths.BlockDevices}/raw", Assert.Single(container.VolumeDevices).DevicePath);
        Assert.True(pod.Spec.Volumes.Single(v => v.Name == "fs").PersistentVolumeClaim.ReadOnlyProperty);
    }

    [Fact]
    public void KernelFilesFromTheNodeAreMountedReadOnly()
    {
        var pod = Build(Vmi(s => s.Domain!.Firmware = new() { KernelBoot = new() { HostPath = new() { KernelPath = "/boot/vmlinuz", InitrdPath = "/boot/initrd.img" } } }));
        var mounts = pod.Spec.Containers[0].VolumeMounts.Where(m => m.MountPath.StartsWith(LauncherPaths.Kernel)).ToList();
        Assert.Equal([$"{LauncherPaths.Kernel}/kernel", $"{LauncherPaths.Kernel}/initrd"], mounts.Select(m => m.MountPath).ToArray());
        Assert.All(mounts, m => Assert.True(m.ReadOnlyProperty));
        Assert.Equal("/boot/vmlinuz", pod.Spec.Volumes.Single(v => v.Name == mounts[0].Name).HostPath.Path);
        Assert.Null(pod.Spec.InitContainers);
    }

    [Fact]
    public void HugepagesComeFromTheNodesPool()
    {
        var vmi = Vmi(s => s.Domain!.Memory = new() { Guest = "1Gi", Hugepages = new() { PageSize = "1Gi" } });
        var pod = Build(vmi);
        Assert.Equal(1024m * 1024 * 1024, Request(pod, "hugepages-1Gi"));
        Assert.Equal(1024m * 1024 * 1024, pod.Spec.Containers[0].Resources.Limits["hugepages-1Gi"].ToDecimal());
        Assert.Equal((decimal)LauncherOverhead.Bytes(vmi.Spec.Domain!), Request(pod, "memory"));
        Assert.Equal("HugePages", pod.Spec.Volumes.Single(v => v.EmptyDir?.Medium == "HugePages").EmptyDir.Medium);
    }

    [Fact]
    public void TheSpecAnnotationCarriesTheVmiButNotItsStatus()
    {
        var vmi = Vmi();
        vmi.Status = new VirtualMachineInstanceStatus { Phase = VmiPhases.Running };
        var pod = Build(vmi);
        var copy = System.Text.Json.JsonSerializer.Deserialize(pod.Metadata.Annotations[LauncherPodBuilder.SpecAnnotation], ApiJsonContext.Default.VirtualMachineInstance)!;
        Assert.Equal(("web", "prod", "uid-1"), (copy.Metadata.Name, copy.Metadata.NamespaceProperty, copy.Metadata.Uid));
        Assert.Equal("128Mi", copy.Spec.Domain!.Memory!.Guest);
        Assert.Null(copy.Status);
        var file = Assert.Single(pod.Spec.Volumes.Single(v => v.DownwardAPI is not null).DownwardAPI.Items);
        Assert.Equal($"metadata.annotations['{LauncherPodBuilder.SpecAnnotation}']", file.FieldRef.FieldPath);
    }
}
