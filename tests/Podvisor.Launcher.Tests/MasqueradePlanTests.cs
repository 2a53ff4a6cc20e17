using System.Net.NetworkInformation;
using Podvisor.Api;
using System.Net;
using Podvisor.Launcher.Network;
using Podvisor.Testing;

namespace Podvisor.Launcher.Tests;

public sealed class MasqueradePlanTests
{
    private const string Masquerade = """{ "interfaces": [ { "name": "default", "masquerade": {} } ] }""";
    private const string PodNetwork = """, "networks": [ { "name": "default", "pod": {} } ]""";

    private static MasqueradePlan? Plan(string devices, string networks) => MasqueradePlan.For(TestVmi.Parse(TestVmi.Json(devices, "[]", networks)));

    [Fact]
    public void NoNetworkNoPlan() => Assert.Null(Plan("{}", ""));

    [Fact]
    public void TheDefaultIsKubeVirtsGuestLinkWithAStableLocalMacFromTheUid()
    {
        var plan = Plan(Masquerade, PodNetwork)!;
        Assert.Equal("default", plan.InterfaceName);
        Assert.Equal(IPAddress.Parse("10.0.2.1"), plan.Gateway);
        Assert.Equal(IPAddress.Parse("10.0.2.2"), plan.GuestAddress);
        Assert.Equal(24, plan.PrefixLength);
        byte first = plan.GuestMac.GetAddressBytes()[0];
        Assert.Equal(0x02, first & 0x03);                             // locally administered, unicast
        Assert.Equal(plan.GuestMac, Plan(Masquerade, PodNetwork)!.GuestMac);
        Assert.NotEqual(PhysicalAddress.Parse(GuestMac.Derived("another-uid").Replace(':', '-')), plan.GuestMac);
        Assert.Matches("^([0-9a-f]{2}:){5}[0-9a-f]{2}$", plan.GuestMacText);
    }

    [Fact]
    public void TheInterfacesMacAndTheNetworksCidrAreHonoured()
    {
        var plan = Plan("""{ "interfaces": [ { "name": "default", "masquerade": {}, "macAddress": "02:AB:cd:00:00:09" } ] }""",
            """, "networks": [ { "name": "default", "pod": { "vmNetworkCIDR": "192.168.77.0/28" } } ]""")!;
        Assert.Equal("02:ab:cd:00:00:09", plan.GuestMacText);
        Assert.Equal(new Vmm.Devices.Virtio.Net.MacAddress(0x02, 0xab, 0xcd, 0, 0, 9), plan.VirtioMac);
        Assert.Equal(IPAddress.Parse("192.168.77.1"), plan.Gateway);
        Assert.Equal(IPAddress.Parse("192.168.77.2"), plan.GuestAddress);
        Assert.Equal(28, plan.PrefixLength);
    }

    [Theory]
    [InlineData("""{ "interfaces": [ { "name": "default", "bridge": {} } ] }""", PodNetwork, "interfaces[0].bridge")]
    [InlineData(Masquerade, """, "networks": [ { "name": "default", "pod": { "vmNetworkCIDR": "10.0.2.0/31" } } ]""", "vmNetworkCIDR")]
    [InlineData(Masquerade, """, "networks": [ { "name": "default", "pod": { "vmNetworkCIDR": "fd00::/64" } } ]""", "vmNetworkCIDR")]
    [InlineData(Masquerade, """, "networks": [ { "name": "default", "pod": { "vmNetworkCIDR": "banana" } } ]""", "vmNetworkCIDR")]
    public void WhatCannotBeBoundIsRefusedByField(string devices, string networks, string field)
    {
        var vmi = TestVmi.ParseUnchecked(TestVmi.Json(devices, "[]", networks));
        var e = Assert.Throws<LauncherException>(() => MasqueradePlan.For(vmi));
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void TheRulesForwardEverythingButTheLaunchersPortsAndMasqueradeTheGuest()
    {
        string rules = Plan(Masquerade, PodNetwork)!.NftRuleset("eth0", [8443, 49152]);
        Assert.Contains("iifname \"eth0\" meta l4proto { tcp, udp } th dport != { 8443, 49152 } dnat to 10.0.2.2", rules);
        Assert.Contains("ip saddr 10.0.2.2 oifname != \"tap0\" masquerade", rules);
    }

    /// <summary>The rules are what nftables accepts: checked (not applied) by nft against the kernel, in a namespace of our own.</summary>
    [Fact]
    public void NftablesAcceptsTheRules()
    {
        using var ns = new NetworkNamespace();
        string rules = Plan(Masquerade, PodNetwork)!.NftRuleset("eth0", [8443]);
        using var nft = ns.Start("nft", "-c", "-f", "-");
        nft.StandardInput.Write(rules);
        nft.StandardInput.Close();
        string errors = nft.StandardError.ReadToEnd();
        nft.WaitForExit();
        Assert.True(nft.ExitCode == 0, $"nft refused the rules: {errors}\n{rules}");
    }
}
