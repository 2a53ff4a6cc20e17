using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Podvisor.Launcher.Network;

/// <summary>
/// The DHCP server of a masquerade-bound NIC as a state machine: one guest MAC, one address, so no pool and no
/// state beyond the lease itself. DISCOVER → OFFER; REQUEST for our address → ACK, for another (a guest that
/// remembers an old network) → NAK so it starts over; INFORM → ACK without a lease; a REQUEST naming another
/// server, RELEASE, DECLINE and anything from another MAC → no answer. Sending and receiving are the caller's.
/// </summary>
public sealed class DhcpServer(DhcpLease lease)
{
    public DhcpLease Lease => lease;

    public DhcpMessage? Answer(DhcpMessage request)
    {
        if (request.Op != DhcpMessage.BootRequest || !request.ClientHardwareAddress.Equals(lease.GuestMac)) return null;
        switch (request.Type)
        {
            case DhcpMessageType.Discover:
                return Reply(request, DhcpMessageType.Offer, withLease: true);
            case DhcpMessageType.Request:
                if (request.Address(DhcpOption.ServerIdentifier) is { } server && !server.Equals(lease.Gateway)) return null;   // it chose another server
                var wanted = request.Address(DhcpOption.RequestedAddress) ?? request.ClientAddress;
                return wanted.Equals(lease.GuestAddress) ? Reply(request, DhcpMessageType.Ack, withLease: true) : Nak(request);
            case DhcpMessageType.Inform:
                return Reply(request, DhcpMessageType.Ack, withLease: false);
            default:
                return null;
        }
    }

    private DhcpMessage Reply(DhcpMessage request, DhcpMessageType type, bool withLease)
    {
        var options = new Dictionary<byte, byte[]>
        {
            [DhcpOption.MessageType] = [(byte)type],
            [DhcpOption.ServerIdentifier] = lease.Gateway.GetAddressBytes(),
            [DhcpOption.SubnetMask] = Mask(lease.PrefixLength),
            [DhcpOption.Router] = lease.Gateway.GetAddressBytes(),
        };
        if (lease.DnsServers.Count > 0) options[DhcpOption.DomainNameServer] = [.. lease.DnsServers.SelectMany(a => a.GetAddressBytes())];
        if (lease.SearchDomains.Count > 0)
        {
            options[DhcpOption.DomainName] = Encoding.ASCII.GetBytes(lease.SearchDomains[0]);
            options[DhcpOption.DomainSearch] = SearchList(lease.SearchDomains);
        }
        if (lease.Hostname is { Length: > 0 } hostname) options[DhcpOption.HostName] = Encoding.ASCII.GetBytes(hostname);
        options[DhcpOption.InterfaceMtu] = BigEndian16((ushort)lease.Mtu);
        if (withLease)
        {
            uint seconds = (uint)lease.Duration.TotalSeconds;
            options[DhcpOption.LeaseTime] = BigEndian32(seconds);
            options[DhcpOption.RenewalTime] = BigEndian32(seconds / 2);
            options[DhcpOption.RebindingTime] = BigEndian32(seconds / 8 * 7);
        }
        return new DhcpMessage
        {
            Op = DhcpMessage.BootReply,
            TransactionId = request.TransactionId,
            Flags = request.Flags,
            ClientAddress = request.ClientAddress,
            YourAddress = withLease ? lease.GuestAddress : IPAddress.Any,
            ServerAddress = lease.Gateway,
            RelayAddress = request.RelayAddress,
            ClientHardwareAddress = request.ClientHardwareAddress,
            Options = options,
        };
    }

    private DhcpMessage Nak(DhcpMessage request) => new()
    {
        Op = DhcpMessage.BootReply,
        TransactionId = request.TransactionId,
        Flags = 0x8000,                                             // a NAK is always broadcast (RFC 2131 4.3.2)
        ClientHardwareAddress = request.ClientHardwareAddress,
        Options = new Dictionary<byte, byte[]>
        {
            [DhcpOption.MessageType] = [(byte)DhcpMessageType.Nak],
            [DhcpOption.ServerIdentifier] = lease.Gateway.GetAddressBytes(),
        },
    };

    private static byte[] Mask(int prefixLength) => BigEndian32(prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength));

    private static byte[] BigEndian16(ushort value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] BigEndian32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }

    /// <summary>RFC 3397: the names in DNS wire format (length-prefixed labels, each name ending in a zero), uncompressed.</summary>
    private static byte[] SearchList(IEnumerable<string> domains)
    {
        var bytes = new List<byte>();
        foreach (string domain in domains)
        {
            foreach (string label in domain.TrimEnd('.').Split('.'))
            {
                if (label.Length is 0 or > 63) throw new ArgumentException($"'{domain}' is not a domain name");
                bytes.Add((byte)label.Length);
                bytes.AddRange(Encoding.ASCII.GetBytes(label));
            }
            bytes.Add(0);
        }
        return [.. bytes];
    }
}
