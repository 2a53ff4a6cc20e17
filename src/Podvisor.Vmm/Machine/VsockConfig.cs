namespace Podvisor.Vmm.Machine;

/// <summary>A virtio-vsock device: the guest's context id and the Unix socket host programs use to reach it
/// ("CONNECT port\n"); the guest reaches host port P at "<SocketPath>_P".</summary>
public sealed record VsockConfig(ulong GuestCid, string SocketPath);
