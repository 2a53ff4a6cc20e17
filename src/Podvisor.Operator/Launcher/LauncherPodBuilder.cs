using System.Globalization;
using System.Text.Json;
using k8s.Models;
using Podvisor.Api;

namespace Podvisor.Operator.Launcher;

/// <summary>
/// The launcher pod for a VMI, as a pure function of the VMI, the PVCs it names and the operator's options:
/// resources (guest memory + <see cref="LauncherOverhead"/>, CPU, /dev/kvm and /dev/net/tun as extended
/// resources or, by explicit choice, a privileged pod), scheduling constraints passed through, and every
/// volume mapped to a pod volume at a path in <see cref="LauncherPaths"/>.
/// </summary>
public static class LauncherPodBuilder
{
    /// <summary>The VMI as JSON; the launcher reads it through the downward API (it has no API access of its own).</summary>
    public const string SpecAnnotation = "podvisor.io/vmi-spec";

    /// <summary>The Secret holding the launcher's control token: one per VMI (by uid: a VMI re-created under the same name gets a new token).</summary>
    public static string ControlSecretName(VirtualMachineInstance vmi) => LauncherLabels.ControlSecretName(vmi.Metadata.Uid);

    /// <summary>What the VMI owns (its launcher pods, its control Secret) points back at it as its controller.</summary>
    public static V1OwnerReference OwnedBy(VirtualMachineInstance vmi) => new()
    {
        ApiVersion = ApiGroup.ApiVersion, Kind = VirtualMachineInstance.KindName, Name = vmi.Metadata.Name, Uid = vmi.Metadata.Uid,
        Controller = true, BlockOwnerDeletion = true,
    };

    /// <summary>Time the launcher gets beyond the guest's grace period to stop the VMM and clean up (KubeVirt adds 15 s too).</summary>
    public const long ExtraGraceSeconds = 15;

    public const long DefaultGraceSeconds = 30;

    /// <summary>Default CPU request per vCPU: KubeVirt's cpuAllocationRatio of 10.</summary>
    public const int MilliCpuPerVcpu = 100;

    private const string SpecVolume = "podvisor-spec", HelpersVolume = "podvisor-bin", KernelVolume = "podvisor-kernel",
        HugepagesVolume = "podvisor-hugepages", ControlVolume = "podvisor-control";

    /// <param name="pvcBlockMode">For each PVC the VMI names: true when it is a block device (volumeMode Block).</param>
    public static V1Pod Build(VirtualMachineInstance vmi, LauncherPodOptions options, IReadOnlyDictionary<string, bool> pvcBlockMode)
    {
        var spec = vmi.Spec;
        var domain = spec.Domain ?? throw new ArgumentException("the VMI has no domain: validate it first", nameof(vmi));
        string name = vmi.Metadata.Name, ns = vmi.Metadata.NamespaceProperty;
        bool podNetwork = (domain.Devices?.Interfaces ?? []).Any(i => i.Masquerade is not null || i.Bridge is not null);

        var volumes = new List<V1Volume>
        {
            new()
            {
                Name = SpecVolume,
                DownwardAPI = new V1DownwardAPIVolumeSource
                {
                    Items = [new V1DownwardAPIVolumeFile { Path = LauncherPaths.SpecFile, FieldRef = new V1ObjectFieldSelector { FieldPath = $"metadata.annotations['{SpecAnnotation}']" } }],
                },
            },
        };
        // The control API's token: the VMI's own Secret, readable by the launcher alone.
        volumes.Add(new V1Volume { Name = ControlVolume, Secret = new V1SecretVolumeSource { SecretName = ControlSecretName(vmi), DefaultMode = 0x100 /* 0400 */ } });
        var mounts = new List<V1VolumeMount> { Mount(LauncherPaths.SpecDirectory, SpecVolume, readOnly: true), Mount(LauncherPaths.ControlDirectory, ControlVolume, readOnly: true) };
        var devices = new List<V1VolumeDevice>();
        var initContainers = new List<V1Container>();
        var helperMount = Mount(LauncherPaths.Helpers, HelpersVolume, true);

        void NeedHelpers()
        {
            if (volumes.Any(v => v.Name == HelpersVolume)) return;
            volumes.Add(new V1Volume { Name = HelpersVolume, EmptyDir = new V1EmptyDirVolumeSource() });
            initContainers.Insert(0, new V1Container
            {
                Name = "install-helpers", Image = options.Image, ImagePullPolicy = options.ImagePullPolicy,
                Command = [options.Command, "install-helpers", LauncherPaths.Helpers],
                VolumeMounts = [Mount(LauncherPaths.Helpers, HelpersVolume)],
                SecurityContext = RestrictedSecurityContext(addCapabilities: []),
            });
        }

        for (int i = 0; i < (spec.Volumes ?? []).Count; i++)
        {
            var volume = spec.Volumes![i];
            string at = $"{LauncherPaths.Volumes}/{volume.Name}";
            if (volume.PersistentVolumeClaim is { } pvc)
            {
                bool readOnly = pvc.ReadOnly ?? false;
                volumes.Add(new V1Volume { Name = volume.Name, PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = pvc.ClaimName, ReadOnlyProperty = readOnly } });
                if (pvcBlockMode.TryGetValue(pvc.ClaimName!, out bool block) && block)
                    devices.Add(new V1VolumeDevice { DevicePath = $"{LauncherPaths.BlockDevices}/{volume.Name}", Name = volume.Name });
                else
                    mounts.Add(Mount(at, volume.Name, readOnly));
            }
            else if (volume.EmptyDisk is { } empty)
            {
                // Sparse file of the capacity; the limit lets the kubelet evict a guest that fills more than it asked for.
                volumes.Add(new V1Volume { Name = volume.Name, EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity(empty.Capacity) } });
                mounts.Add(Mount(at, volume.Name));
            }
            else if (volume.HostDisk is { } host)
            {
                string directory = Path.GetDirectoryName(host.Path) is { Length: > 0 } d ? d : "/";
                volumes.Add(new V1Volume
                {
                    Name = volume.Name,
                    HostPath = new V1HostPathVolumeSource { Path = directory, Type = host.Type == "DiskOrCreate" ? "DirectoryOrCreate" : "Directory" },
                });
                mounts.Add(Mount(at, volume.Name));
            }
            else if (volume.CloudInitNoCloud is not null)
            {
                // The launcher writes the NoCloud disk (label cidata) here from the data in the spec.
                volumes.Add(new V1Volume { Name = volume.Name, EmptyDir = new V1EmptyDirVolumeSource() });
                mounts.Add(Mount(at, volume.Name));
            }
            else if (volume.ContainerDisk is { } containerDisk)
            {
                // The image holds only the disk file: an init container of that image copies it out with the static helper.
                NeedHelpers();
                volumes.Add(new V1Volume { Name = volume.Name, EmptyDir = new V1EmptyDirVolumeSource() });
                mounts.Add(Mount(at, volume.Name));
                initContainers.Add(new V1Container
                {
                    Name = $"container-disk-{i}", Image = containerDisk.Image, ImagePullPolicy = containerDisk.ImagePullPolicy ?? options.ImagePullPolicy,
                    Command = [LauncherPaths.CopyHelper, containerDisk.Path ?? "/disk", at],
                    VolumeMounts = [helperMount, Mount(at, volume.Name)],
                    SecurityContext = RestrictedSecurityContext(addCapabilities: []),
                });
            }
        }

        if (domain.Firmware?.KernelBoot is { } kernelBoot)
        {
            if (kernelBoot.Container is { } kernelImage)
            {
                NeedHelpers();
                volumes.Add(new V1Volume { Name = KernelVolume, EmptyDir = new V1EmptyDirVolumeSource() });
                mounts.Add(Mount(LauncherPaths.Kernel, KernelVolume, true));
                var copy = new List<string> { LauncherPaths.CopyHelper, kernelImage.KernelPath!, $"{LauncherPaths.Kernel}/kernel" };
                if (kernelImage.InitrdPath is { } initrd) copy.AddRange([initrd, $"{LauncherPaths.Kernel}/initrd"]);
                initContainers.Add(new V1Container
                {
                    Name = "kernel-boot", Image = kernelImage.Image, ImagePullPolicy = kernelImage.ImagePullPolicy ?? options.ImagePullPolicy,
                    Command = copy, VolumeMounts = [helperMount, Mount(LauncherPaths.Kernel, KernelVolume)],
                    SecurityContext = RestrictedSecurityContext(addCapabilities: []),
                });
            }
            else if (kernelBoot.HostPath is { } kernelFiles)
            {
                volumes.Add(new V1Volume { Name = KernelVolume, HostPath = new V1HostPathVolumeSource { Path = kernelFiles.KernelPath, Type = "File" } });
                mounts.Add(Mount($"{LauncherPaths.Kernel}/kernel", KernelVolume, true));
                if (kernelFiles.InitrdPath is { } initrd)
                {
                    volumes.Add(new V1Volume { Name = KernelVolume + "-initrd", HostPath = new V1HostPathVolumeSource { Path = initrd, Type = "File" } });
                    mounts.Add(Mount($"{LauncherPaths.Kernel}/initrd", KernelVolume + "-initrd", true));
                }
            }
        }

        var (requests, limits) = Resources(domain, podNetwork, options);
        if (domain.Memory?.Hugepages?.PageSize is not null)
        {
            volumes.Add(new V1Volume { Name = HugepagesVolume, EmptyDir = new V1EmptyDirVolumeSource { Medium = "HugePages" } });
            mounts.Add(Mount(LauncherPaths.Hugepages, HugepagesVolume));
        }

        var compute = new V1Container
        {
            Name = LauncherLabels.ComputeContainer,
            Image = options.Image,
            ImagePullPolicy = options.ImagePullPolicy,
            Command = [options.Command, "--spec", $"{LauncherPaths.SpecDirectory}/{LauncherPaths.SpecFile}", "--control-port",
                options.ControlPort.ToString(CultureInfo.InvariantCulture), "--control-token-file", $"{LauncherPaths.ControlDirectory}/{LauncherPaths.ControlTokenKey}",
                "--control-tls-directory", LauncherPaths.ControlDirectory,
                .. options.MetricsPort > 0 ? ["--metrics-port", options.MetricsPort.ToString(CultureInfo.InvariantCulture)] : Array.Empty<string>()],
            Env =
            [
                new V1EnvVar { Name = "POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
                new V1EnvVar { Name = "POD_NAMESPACE", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.namespace" } } },
                new V1EnvVar { Name = "POD_IP", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "status.podIP" } } },
                new V1EnvVar { Name = "NODE_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "spec.nodeName" } } },
                .. options.OtlpEndpoint is { } otlp ? [new V1EnvVar { Name = "OTEL_EXPORTER_OTLP_ENDPOINT", Value = otlp }] : Array.Empty<V1EnvVar>(),
            ],
            Ports =
            [
                new V1ContainerPort { ContainerPort = options.ControlPort, Name = LauncherLabels.ControlPortName, Protocol = "TCP" },
                .. options.MetricsPort > 0 ? [new V1ContainerPort { ContainerPort = options.MetricsPort, Name = LauncherLabels.MetricsPortName, Protocol = "TCP" }]
                    : Array.Empty<V1ContainerPort>(),
            ],
            Resources = new V1ResourceRequirements { Requests = requests, Limits = limits },
            // Ready means the guest runs: the VMI's phase follows this (the launcher answers /readyz only then).
            ReadinessProbe = new V1Probe
            {
                HttpGet = new V1HTTPGetAction { Path = "/readyz", Port = options.ControlPort, Scheme = "HTTPS" },
                PeriodSeconds = 1, FailureThreshold = 1,
            },
            SecurityContext = options.DeviceAccess == DeviceAccess.Privileged
                ? new V1SecurityContext { Privileged = true }
                // TAP devices and NAT need NET_ADMIN; the guest's DHCP server binds port 67.
                : RestrictedSecurityContext(podNetwork ? ["NET_ADMIN", "NET_BIND_SERVICE"] : []),
            VolumeMounts = mounts,
            VolumeDevices = devices.Count == 0 ? null : devices,
        };

        var labels = new Dictionary<string, string>(vmi.Metadata.Labels ?? new Dictionary<string, string>())
        {
            [LauncherLabels.Component] = LauncherLabels.LauncherComponent,
            [LauncherLabels.Vmi] = name,
            [LauncherLabels.CreatedBy] = vmi.Metadata.Uid,
        };
        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta
            {
                GenerateName = $"podvisor-launcher-{name}-",
                NamespaceProperty = ns,
                Labels = labels,
                Annotations = PodAnnotations(vmi, options),
                OwnerReferences = [OwnedBy(vmi)],
            },
            Spec = new V1PodSpec
            {
                RestartPolicy = "Never",         // a VMM that exited is a VM that ended: the VMI's phase says how
                TerminationGracePeriodSeconds = (spec.TerminationGracePeriodSeconds ?? DefaultGraceSeconds) + ExtraGraceSeconds,
                NodeSelector = spec.NodeSelector,
                Affinity = spec.Affinity,
                Tolerations = spec.Tolerations,
                Hostname = spec.Hostname ?? (name.Length <= 63 ? name : null),
                Subdomain = spec.Subdomain,
                ServiceAccountName = options.ServiceAccountName,
                AutomountServiceAccountToken = false,
                EnableServiceLinks = false,
                InitContainers = initContainers.Count == 0 ? null : initContainers,
                Containers = [compute],
                Volumes = volumes,
            },
        };
    }

    /// <summary>The VMI for the launcher (its downward-API spec file), and where Prometheus finds the VM's metrics.</summary>
    private static Dictionary<string, string> PodAnnotations(VirtualMachineInstance vmi, LauncherPodOptions options)
    {
        var annotations = new Dictionary<string, string> { [SpecAnnotation] = SpecJson(vmi) };
        if (options.MetricsPort > 0)
        {
            annotations["prometheus.io/scrape"] = "true";
            annotations["prometheus.io/port"] = options.MetricsPort.ToString(CultureInfo.InvariantCulture);
            annotations["prometheus.io/path"] = "/metrics";
        }
        return annotations;
    }

    /// <summary>The pod's requests and limits: guest memory + overhead, CPU, hugepages, devices.</summary>
    private static (Dictionary<string, ResourceQuantity> Requests, Dictionary<string, ResourceQuantity> Limits) Resources(
        DomainSpec domain, bool podNetwork, LauncherPodOptions options)
    {
        var user = domain.Resources;
        ulong guest = domain.GuestMemoryBytes();
        ulong overhead = user?.OvercommitGuestOverhead == true ? 0 : LauncherOverhead.Bytes(domain);
        var requests = new Dictionary<string, ResourceQuantity>();
        var limits = new Dictionary<string, ResourceQuantity>();

        string? pageSize = domain.Memory?.Hugepages?.PageSize;
        if (pageSize is not null)
        {
            // Guest RAM comes from the node's huge-page pool; extended resources like these need limit = request.
            var pages = new ResourceQuantity(Bytes(guest));
            requests[$"hugepages-{pageSize}"] = pages;
            limits[$"hugepages-{pageSize}"] = pages;
            requests["memory"] = new ResourceQuantity(Bytes(Math.Max(overhead, Quantities.MiB)));
        }
        else
        {
            requests["memory"] = new ResourceQuantity(Bytes(guest + overhead));
        }
        if (user?.Limits?.TryGetValue("memory", out string? memoryLimit) == true && Quantities.TryParseBytes(memoryLimit, out ulong limitBytes))
            limits["memory"] = new ResourceQuantity(Bytes((pageSize is null ? limitBytes : 0) + overhead));

        requests["cpu"] = new ResourceQuantity(user?.Requests?.GetValueOrDefault("cpu")
                                               ?? $"{domain.Vcpus() * MilliCpuPerVcpu}m");
        if (user?.Limits?.GetValueOrDefault("cpu") is { } cpuLimit) limits["cpu"] = new ResourceQuantity(cpuLimit);

        if (options.DeviceAccess == DeviceAccess.ExtendedResources)
        {
            requests[LauncherPodOptions.KvmResource] = limits[LauncherPodOptions.KvmResource] = new ResourceQuantity("1");
            if (podNetwork) requests[LauncherPodOptions.TunResource] = limits[LauncherPodOptions.TunResource] = new ResourceQuantity("1");
        }
        return (requests, limits);
    }

    private static string Bytes(ulong bytes) =>
        bytes % Quantities.MiB == 0 ? $"{bytes / Quantities.MiB}Mi" : bytes.ToString(CultureInfo.InvariantCulture);

    private static V1VolumeMount Mount(string path, string volume, bool readOnly = false) =>
        new() { MountPath = path, Name = volume, ReadOnlyProperty = readOnly ? true : null };

    private static V1SecurityContext RestrictedSecurityContext(IList<string> addCapabilities) => new()
    {
        AllowPrivilegeEscalation = false,
        Capabilities = new V1Capabilities { Drop = ["ALL"], Add = addCapabilities.Count == 0 ? null : addCapabilities },
    };

    /// <summary>What the launcher needs of its VMI: identity, labels and spec (not status, which changes).</summary>
    private static string SpecJson(VirtualMachineInstance vmi) =>
        JsonSerializer.Serialize(new VirtualMachineInstance
        {
            Metadata = new V1ObjectMeta
            {
                Name = vmi.Metadata.Name, NamespaceProperty = vmi.Metadata.NamespaceProperty, Uid = vmi.Metadata.Uid,
                Labels = vmi.Metadata.Labels, Annotations = null,
            },
            Spec = vmi.Spec,
        }, ApiJsonContext.Default.VirtualMachineInstance);
}
