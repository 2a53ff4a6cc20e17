using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Text;
using Podvisor.Api;

namespace Podvisor.Launcher.Network;

/// <summary>
/// How the guest's NIC is bound to the pod network with masquerade, as KubeVirt does it: the guest sits on a
/// private link (default 10.0.2.0/24) behind a TAP in the pod; the launcher's end of it is the first address and
/// the gateway, the guest gets the second by DHCP; its traffic leaves with the pod's IP (masquerade), and what
/// reaches the pod's IP on any port but the launcher's own is forwarded to the guest (DNAT). Pure: computed from
/// the VMI; <see cref="PodNetworkSetup"/> applies it.
/// </summary>
public sealed record MasqueradePlan(
    string InterfaceName,
    PhysicalAddress GuestMac,
    IPAddress Gateway,
    IPAddress GuestAddress,
    int PrefixLength)
{
    /// <summary>The TAP the guest's virtio-net is attached to, and the pod's own interface.</summary>
    public const string TapName = "tap0", PodInterface = "eth0";
    public const string DefaultCidr = PodNetwork.DefaultVmNetworkCidr;

    /// <summary>The nftables table the rules live in; replaced whole, so applying the plan twice changes nothing.</summary>
    public const string NftTable = "podvisor";

    /// <summary>The gateway's (the TAP's) MAC, the same in every pod: a guest that migrates keeps its ARP entry for the
    /// gateway and its traffic flows on at once (a fresh random MAC on the target would be dropped until the entry aged).</summary>
    public const string GatewayMac = "02:00:00:70:76:01";

    /// <summary>The plan for the VMI's pod network, or null when it has none. Refuses, by field, what it cannot bind.</summary>
    public static MasqueradePlan? For(VirtualMachineInstance vmi)
    {
        var networks = vmi.Spec.Networks ?? [];
        var interfaces = vmi.Spec.Domain?.Devices?.Interfaces ?? [];
        if (networks.Count == 0 && interfaces.Count == 0) return null;
        if (Problems(vmi) is { Count: > 0 } problems) throw new LauncherException("the VMI's network cannot be bound:\n  " + string.Join("\n  ", problems));
        PodNetwork.TryParseVmSubnet(networks[0].Pod?.VmNetworkCidr ?? DefaultCidr, out var subnet, out int prefix);
        var nic = interfaces[0];
        var mac = PhysicalAddress.Parse(Api.GuestMac.Of(nic, vmi.Metadata.Uid ?? vmi.Metadata.Name ?? "").Replace(':', '-').ToUpperInvariant());
        return new MasqueradePlan(nic.Name, mac, Offset(subnet, 1), Offset(subnet, 2), prefix);
    }

    /// <summary>What in the VMI's networks a launcher cannot bind, each naming its field (none without a network).</summary>
    public static IReadOnlyList<string> Problems(VirtualMachineInstance vmi)
    {
        var networks = vmi.Spec.Networks ?? [];
        var interfaces = vmi.Spec.Domain?.Devices?.Interfaces ?? [];
        var problems = new List<string>();
        if (networks.Count == 0 && interfaces.Count == 0) return problems;
        if (networks.Count != 1) problems.Add($"spec.networks: one pod network is what a launcher binds (got {networks.Count})");
        if (interfaces.Count != 1) problems.Add($"spec.domain.devices.interfaces: give one interface for the pod network (got {interfaces.Count})");
        if (interfaces.FirstOrDefault() is { Bridge: not null })
            problems.Add("spec.domain.devices.interfaces[0].bridge: the bridge binding is not offered; use masquerade: {}");
        string cidr = networks.FirstOrDefault()?.Pod?.VmNetworkCidr ?? DefaultCidr;
        if (!PodNetwork.TryParseVmSubnet(cidr, out _, out _))
            problems.Add($"spec.networks[0].pod.vmNetworkCIDR: \"{cidr}\" is not an IPv4 subnet with room for a gateway and a guest, like {DefaultCidr}");
        return problems;
    }

    /// <summary>The guest's MAC as Kubernetes writes it (02:00:00:00:00:01).</summary>
    public string GuestMacText => Api.GuestMac.Format(GuestMac.GetAddressBytes());

    /// <summary>The guest's MAC as virtio-net wants it.</summary>
    public Vmm.Devices.Virtio.Net.MacAddress VirtioMac
    {
        get
        {
            byte[] b = GuestMac.GetAddressBytes();
            return new(b[0], b[1], b[2], b[3], b[4], b[5]);
        }
    }

    /// <summary>The NAT rules, as one nft script: the table is created, emptied and refilled in a single transaction.
    /// Inbound: TCP and UDP to the pod on <paramref name="podInterface"/>, except <paramref name="launcherPorts"/>, go to
    /// the guest. Outbound: the guest's packets leave with the pod's address.</summary>
    public string NftRuleset(string podInterface, IReadOnlyCollection<int> launcherPorts)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"table ip {NftTable}");
        text.AppendLine(CultureInfo.InvariantCulture, $"delete table ip {NftTable}");
        text.AppendLine(CultureInfo.InvariantCulture, $"table ip {NftTable} {{");
        text.AppendLine("  chain prerouting {");
        text.AppendLine("    type nat hook prerouting priority dstnat; policy accept;");
        string except = launcherPorts.Count == 0 ? "" : $"th dport != {{ {string.Join(", ", launcherPorts.Order())} }} ";
        text.AppendLine(CultureInfo.InvariantCulture, $"    iifname \"{podInterface}\" meta l4proto {{ tcp, udp }} {except}dnat to {GuestAddress}");
        text.AppendLine("  }");
        text.AppendLine("  chain postrouting {");
        text.AppendLine("    type nat hook postrouting priority srcnat; policy accept;");
        text.AppendLine(CultureInfo.InvariantCulture, $"    ip saddr {GuestAddress} oifname != \"{TapName}\" masquerade");
        text.AppendLine("  }");
        text.AppendLine("}");
        return text.ToString();
    }

    private static IPAddress Offset(IPAddress network, uint by)
    {
        byte[] b = network.GetAddressBytes();
        uint value = (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]) + by;
        return new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
    }
}
