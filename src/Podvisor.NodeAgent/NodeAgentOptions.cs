namespace Podvisor.NodeAgent;

/// <summary>How the node agent runs: the kubelet's device-plugins directory, the devices it serves, where it can see the
/// host's /dev (the DaemonSet mounts it at /host/dev), and how often it looks.</summary>
public sealed record NodeAgentOptions(string PluginDirectory, IReadOnlyList<ServedDevice> Devices, string DeviceRoot, TimeSpan Interval)
{
    public const string DefaultPluginDirectory = "/var/lib/kubelet/device-plugins";

    /// <summary>Launcher pods per node that can hold /dev/kvm and /dev/net/tun at once (the kubelet's default pod limit).</summary>
    public const int DefaultUnits = 110;

    public static IReadOnlyList<ServedDevice> PodvisorDevices(string kvm, string tun, int units) =>
    [
        new(ServedDevice.KvmResource, "podvisor-kvm.sock", kvm, "/dev/kvm", "rw", units),
        new(ServedDevice.TunResource, "podvisor-tun.sock", tun, "/dev/net/tun", "rw", units),
    ];

    /// <summary>Where the agent looks for <paramref name="device"/>'s node: its host path under <see cref="DeviceRoot"/>.</summary>
    public string VisiblePath(ServedDevice device) => DeviceRoot is "" or "/" ? device.HostPath : Path.Join(DeviceRoot, device.HostPath);
}
