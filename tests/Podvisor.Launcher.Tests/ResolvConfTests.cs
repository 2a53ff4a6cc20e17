using System.Net;
using Podvisor.Launcher.Network;

namespace Podvisor.Launcher.Tests;

public sealed class ResolvConfTests
{
    [Fact]
    public void AKubeletsResolvConfGivesTheClusterDnsAndSearchList()
    {
        var conf = ResolvConf.Parse("""
            # written by the kubelet
            search default.svc.cluster.local svc.cluster.local cluster.local
            nameserver 10.96.0.10
            nameserver fd00::10
            options ndots:5
            """);
        Assert.Equal([IPAddress.Parse("10.96.0.10")], conf.Nameservers);     // DHCPv4 carries IPv4 servers only
        Assert.Equal(["default.svc.cluster.local", "svc.cluster.local", "cluster.local"], conf.Search);
    }

    [Fact]
    public void CommentsGarbageAndAMissingFileGiveNothingRatherThanAnError()
    {
        var conf = ResolvConf.Parse("nameserver not-an-address\nsearch ok.example bad..name\n; nameserver 1.2.3.4\nnameserver");
        Assert.Empty(conf.Nameservers);
        Assert.Equal(["ok.example"], conf.Search);
        Assert.Equal(ResolvConf.Empty, ResolvConf.Read("/nonexistent/resolv.conf"));
    }
}
