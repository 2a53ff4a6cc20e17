namespace Podvisor.Vmm.Devices.Virtio.Vsock;

public enum VsockConnectionState
{
    /// <summary>A host program connected to the device's socket and has not yet said which guest port it wants.</summary>
    AwaitingConnectLine,
    /// <summary>We sent the guest a REQUEST; waiting for its RESPONSE (or RST).</summary>
    Connecting,
    Established,
}
