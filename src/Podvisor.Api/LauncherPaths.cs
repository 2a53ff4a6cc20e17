namespace Podvisor.Api;

/// <summary>
/// Where a launcher pod finds its inputs: the contract between the pod the operator builds and the
/// launcher process (docs/launcher-pod.md). Shared by both, so it lives with the API.
/// </summary>
public static class LauncherPaths
{
    /// <summary>The VMI (metadata and spec) as JSON, from the pod annotation podvisor.io/vmi-spec through the downward API.</summary>
    public const string SpecDirectory = "/var/run/podvisor/vmi", SpecFile = "spec.json";

    /// <summary>One directory per file-backed volume: /var/run/podvisor/volumes/NAME.</summary>
    public const string Volumes = "/var/run/podvisor/volumes";

    /// <summary>One device node per block-mode PVC: /dev/podvisor/NAME.</summary>
    public const string BlockDevices = "/dev/podvisor";

    /// <summary>The boot kernel and initrd: /var/run/podvisor/kernel/{kernel,initrd}.</summary>
    public const string Kernel = "/var/run/podvisor/kernel";

    /// <summary>Static helpers the first init container installs for init containers of other images.</summary>
    public const string Helpers = "/var/run/podvisor/bin";

    /// <summary>A static binary: copies a disk or kernel file out of an image that has nothing else (KubeVirt's containerDisk images).</summary>
    public const string CopyHelper = Helpers + "/podvisor-copy";

    public const string Hugepages = "/dev/hugepages";

    /// <summary>The file a file-backed disk volume holds (KubeVirt's convention for PVCs; emptyDisk and containerDisk too).</summary>
    public const string DiskImage = "disk.img";

    /// <summary>The control API's bearer token, from the VMI's control Secret (key <see cref="ControlTokenKey"/>).</summary>
    public const string ControlDirectory = "/var/run/podvisor/control", ControlTokenKey = "token";

    /// <summary>A migration target's TLS credentials, from the migration's Secret (<see cref="Control.TlsMaterial"/>'s files).</summary>
    public const string MigrationDirectory = "/var/run/podvisor/migration";

    /// <summary>Where the compute container leaves its last word (the kubelet's default terminationMessagePath): a source
    /// that handed its VM over writes the migration's measurements there.</summary>
    public const string TerminationLog = "/dev/termination-log";

    /// <summary>The launcher's own runtime files (console socket, vsock socket).</summary>
    public const string Runtime = "/var/run/podvisor/launcher";
}
