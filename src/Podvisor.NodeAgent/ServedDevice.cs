namespace Podvisor.NodeAgent;

/// <summary>
/// A host device the agent offers to pods as an extended resource: <paramref name="ResourceName"/> (what a pod requests),
/// the plugin's socket file name in the kubelet's device-plugins directory, the device node on the host and in the
/// container, and its cgroup permissions. Devices that many pods share (/dev/kvm, /dev/net/tun) are offered as
/// <paramref name="Count"/> interchangeable units, as KubeVirt's virt-handler does.
/// </summary>
public sealed record ServedDevice(string ResourceName, string Endpoint, string HostPath, string ContainerPath, string Permissions, int Count)
{
    public const string KvmResource = "devices.podvisor.io/kvm", TunResource = "devices.podvisor.io/tun";

    /// <summary>The IDs of its units: "kvm-0" … (a Device ID is at most 63 characters).</summary>
    public IEnumerable<string> UnitIds => Enumerable.Range(0, Count).Select(i => $"{ShortName}-{i}");

    public string ShortName => ResourceName[(ResourceName.LastIndexOf('/') + 1)..];
}
