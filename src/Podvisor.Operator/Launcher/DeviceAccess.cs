namespace Podvisor.Operator.Launcher;

/// <summary>How launcher pods reach /dev/kvm and /dev/net/tun.</summary>
public enum DeviceAccess
{
    /// <summary>
    /// Extended resources <c>devices.podvisor.io/kvm</c> and <c>devices.podvisor.io/tun</c>, served by the node
    /// agent's device plugin: the pod gets the device nodes and no privileges (the default).
    /// </summary>
    ExtendedResources,

    /// <summary>Privileged launcher pods (every host device): only for clusters without the node agent, by explicit choice.</summary>
    Privileged,
}
