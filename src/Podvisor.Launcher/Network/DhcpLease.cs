using System.Net;
using System.Net.NetworkInformation;

namespace Podvisor.Launcher.Network;

/// <summary>What the guest's one lease says: its address on the launcher's private link, the gateway (the
/// launcher's end, which NATs to the pod IP), DNS as the pod has it, and the VMI's hostname.</summary>
public sealed record DhcpLease(
    PhysicalAddress GuestMac,
    IPAddress GuestAddress,
    int PrefixLength,
    IPAddress Gateway,
    IReadOnlyList<IPAddress> DnsServers,
    IReadOnlyList<string> SearchDomains,
    string? Hostname,
    int Mtu,
    TimeSpan Duration);
