namespace Podvisor.Api;

/// <summary>How a NIC binds to the pod network (masquerade: NAT behind the pod IP; bridge: the pod IP itself).</summary>
public sealed class InterfaceBinding;
