using System.Net;
using System.Net.NetworkInformation;
using Podvisor.Launcher.Network;

namespace Podvisor.Launcher.Tests;

public sealed class DhcpServerTests
{
    private static readonly PhysicalAddress Guest = PhysicalAddress.Parse("02-00-00-00-00-07");
    private static readonly DhcpLease Lease = new(Guest, IPAddress.Parse("10.0.2.2"), 24, IPAddress.Parse("10.0.2.1"),
        [IPAddress.Parse("10.96.0.10")], ["default.svc.cluster.local", "cluster.local"], "web-1", 1500, TimeSpan.FromDays(1));
    private readonly DhcpServer _server = new(Lease);

    /// <summary>A DISCOVER as busybox's udhcpc sends it, byte for byte (header, cookie, options, end).</summary>
    private static byte[] UdhcpcDiscover(PhysicalAddress mac)
    {
        var packet = new byte[300];
        packet[0] = 1; packet[1] = 1; packet[2] = 6;
        packet[4] = 0x12; packet[5] = 0x34; packet[6] = 0x56; packet[7] = 0x78;   // xid
        mac.GetAddressBytes().CopyTo(packet, 28);
        byte[] tail = [99, 130, 83, 99, 53, 1, 1, 61, 7, 1, .. mac.GetAddressBytes(), 57, 2, 2, 64, 55, 7, 1, 3, 6, 12, 15, 28, 42, 255];
        tail.CopyTo(packet, 236);
        return packet;
    }

    private static DhcpMessage Parse(byte[] packet)
    {
        Assert.True(DhcpMessage.TryParse(packet, out var message));
        return message;
    }

    private static DhcpMessage Request(IPAddress? requested, IPAddress? server, IPAddress? client = null) => new()
    {
        Op = DhcpMessage.BootRequest, TransactionId = 0x9abc, ClientHardwareAddress = Guest, ClientAddress = client ?? IPAddress.Any,
        Options = new Dictionary<byte, byte[]>
        {
            [DhcpOption.MessageType] = [(byte)DhcpMessageType.Request],
            [DhcpOption.RequestedAddress] = requested?.GetAddressBytes() ?? [],
            [DhcpOption.ServerIdentifier] = server?.GetAddressBytes() ?? [],
        }.Where(o => o.Value.Length > 0).ToDictionary(),
    };

    [Fact]
    public void ADiscoverGetsAnOfferOfTheGuestsAddressWithEverythingItNeeds()
    {
        var offer = Parse(_server.Answer(Parse(UdhcpcDiscover(Guest)))!.ToBytes());   // through the wire format both ways
        Assert.Equal(DhcpMessage.BootReply, offer.Op);
        Assert.Equal(DhcpMessageType.Offer, offer.Type);
        Assert.Equal(0x12345678u, offer.TransactionId);
        Assert.Equal(IPAddress.Parse("10.0.2.2"), offer.YourAddress);
        Assert.Equal(IPAddress.Parse("255.255.255.0"), offer.Address(DhcpOption.SubnetMask));
        Assert.Equal(IPAddress.Parse("10.0.2.1"), offer.Address(DhcpOption.Router));
        Assert.Equal(IPAddress.Parse("10.0.2.1"), offer.Address(DhcpOption.ServerIdentifier));
        Assert.Equal(IPAddress.Parse("10.96.0.10"), offer.Address(DhcpOption.DomainNameServer));
        Assert.Equal("web-1"u8.ToArray(), offer.Options[DhcpOption.HostName]);
        Assert.Equal([0, 1, 0x51, 0x80], offer.Options[DhcpOption.LeaseTime]);                // 86400 s
        Assert.Equal(new byte[] { 0x05, 0xdc }, offer.Options[DhcpOption.InterfaceMtu]);          // 1500
        byte[] search = [7, .. "default"u8, 3, .. "svc"u8, 7, .. "cluster"u8, 5, .. "local"u8, 0, 7, .. "cluster"u8, 5, .. "local"u8, 0];
        Assert.Equal(search, offer.Options[DhcpOption.DomainSearch]);
    }

    [Fact]
    public void ARequestForItsAddressIsAckedAndForAnotherNakked()
    {
        Assert.Equal(DhcpMessageType.Ack, _server.Answer(Request(IPAddress.Parse("10.0.2.2"), IPAddress.Parse("10.0.2.1")))!.Type);
        Assert.Equal(DhcpMessageType.Ack, _server.Answer(Request(null, null, client: IPAddress.Parse("10.0.2.2")))!.Type);   // renewing
        var nak = _server.Answer(Request(IPAddress.Parse("192.168.1.50"), null))!;             // remembers another network
        Assert.Equal(DhcpMessageType.Nak, nak.Type);
        Assert.True(nak.Broadcast);
        Assert.Equal(IPAddress.Any, nak.YourAddress);
        Assert.Null(_server.Answer(Request(IPAddress.Parse("10.0.2.2"), IPAddress.Parse("10.0.2.99"))));   // it chose another server
    }

    [Fact]
    public void OtherMacsAndMessagesGetNoAnswer()
    {
        Assert.Null(_server.Answer(Parse(UdhcpcDiscover(PhysicalAddress.Parse("02-00-00-00-00-08")))));
        var release = Request(IPAddress.Parse("10.0.2.2"), null) with { Options = new Dictionary<byte, byte[]> { [DhcpOption.MessageType] = [(byte)DhcpMessageType.Release] } };
        Assert.Null(_server.Answer(release));
        var reply = Parse(UdhcpcDiscover(Guest)) with { Op = DhcpMessage.BootReply };
        Assert.Null(_server.Answer(reply));
        var inform = Request(null, null) with { Options = new Dictionary<byte, byte[]> { [DhcpOption.MessageType] = [(byte)DhcpMessageType.Inform] } };
        var ack = _server.Answer(inform)!;
        Assert.Equal(DhcpMessageType.Ack, ack.Type);
        Assert.False(ack.Options.ContainsKey(DhcpOption.LeaseTime));                            // INFORM: configuration, no lease
    }

    [Fact]
    public void MalformedPacketsAreNotMessagesAndNeverThrow()
    {
        byte[] good = UdhcpcDiscover(Guest);
        Assert.False(DhcpMessage.TryParse(good.AsSpan(0, 239), out _));                       // shorter than header + cookie
        byte[] badCookie = (byte[])good.Clone();
        badCookie[236] = 0;
        Assert.False(DhcpMessage.TryParse(badCookie, out _));
        byte[] overrun = good[..243];
        overrun[241] = 200;                                                                      // option 53 claims 200 bytes
        Assert.False(DhcpMessage.TryParse(overrun, out _));
        var random = new Random(7);
        for (int i = 0; i < 10_000; i++)
        {
            var junk = new byte[random.Next(0, 600)];
            random.NextBytes(junk);
            if (junk.Length > 240) { junk[1] = 1; junk[2] = 6; junk[236] = 99; junk[237] = 130; junk[238] = 83; junk[239] = 99; }
            if (DhcpMessage.TryParse(junk, out var message)) _server.Answer(message);
        }
    }
}
