namespace Podvisor.Launcher.Network;

/// <summary>The DHCP option codes the launcher's server reads or writes (RFC 2132, 3397).</summary>
public static class DhcpOption
{
    public const byte Pad = 0, SubnetMask = 1, Router = 3, DomainNameServer = 6, HostName = 12, DomainName = 15, InterfaceMtu = 26,
        RequestedAddress = 50, LeaseTime = 51, MessageType = 53, ServerIdentifier = 54, ParameterRequestList = 55, RenewalTime = 58,
        RebindingTime = 59, DomainSearch = 119, End = 255;
}

/// <summary>Option 53's values.</summary>
public enum DhcpMessageType : byte
{
    Discover = 1, Offer = 2, Request = 3, Decline = 4, Ack = 5, Nak = 6, Release = 7, Inform = 8,
}
