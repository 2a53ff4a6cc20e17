namespace Podvisor.Api.Tests;

public sealed class GuestMacTests
{
    [Fact]
    public void AGivenMacIsKeptInKubernetesSpelling() =>
        Assert.Equal("02:ab:cd:00:00:09", GuestMac.Of(new Interface { Name = "default", MacAddress = "02:AB:cd:00:00:09" }, "uid-1"));

    [Fact]
    public void WithoutOneTheUidGivesAStableLocallyAdministeredUnicastMac()
    {
        string mac = GuestMac.Of(new Interface { Name = "default" }, "0b7c6a56-3f55-4c1e-9a55-000000000001");
        Assert.Matches("^02(:[0-9a-f]{2}){5}$", mac);                // 02: locally administered, unicast
        Assert.Equal(mac, GuestMac.Derived("0b7c6a56-3f55-4c1e-9a55-000000000001"));
        Assert.NotEqual(mac, GuestMac.Derived("0b7c6a56-3f55-4c1e-9a55-000000000002"));
    }
}
