using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;

namespace Podvisor.Launcher.Network;

/// <summary>
/// A BOOTP/DHCP message (RFC 2131, options RFC 2132): the fixed header and the options as raw values.
/// <see cref="TryParse"/> never throws on what arrives from a guest: anything malformed is simply not a message.
/// </summary>
public sealed record DhcpMessage
{
    public const int HeaderLength = 236, MinimumLength = HeaderLength + 4;
    public const byte BootRequest = 1, BootReply = 2;
    private static readonly byte[] MagicCookie = [99, 130, 83, 99];

    public byte Op { get; init; }
    public uint TransactionId { get; init; }
    public ushort Flags { get; init; }
    public IPAddress ClientAddress { get; init; } = IPAddress.Any;       // ciaddr
    public IPAddress YourAddress { get; init; } = IPAddress.Any;         // yiaddr
    public IPAddress ServerAddress { get; init; } = IPAddress.Any;       // siaddr
    public IPAddress RelayAddress { get; init; } = IPAddress.Any;        // giaddr
    public PhysicalAddress ClientHardwareAddress { get; init; } = PhysicalAddress.None;
    public IReadOnlyDictionary<byte, byte[]> Options { get; init; } = new Dictionary<byte, byte[]>();

    public DhcpMessageType? Type => Options.TryGetValue(DhcpOption.MessageType, out var v) && v.Length == 1 ? (DhcpMessageType)v[0] : null;

    /// <summary>The broadcast flag: the client cannot take a unicast reply yet.</summary>
    public bool Broadcast => (Flags & 0x8000) != 0;

    public IPAddress? Address(byte option) => Options.TryGetValue(option, out var v) && v.Length == 4 ? new IPAddress(v) : null;

    public static bool TryParse(ReadOnlySpan<byte> packet, out DhcpMessage message)
    {
        message = null!;
        if (packet.Length < MinimumLength || packet[1] != 1 /* Ethernet */ || packet[2] != 6) return false;
        if (!packet.Slice(HeaderLength, 4).SequenceEqual(MagicCookie)) return false;
        var options = new Dictionary<byte, byte[]>();
        for (int at = MinimumLength; at < packet.Length;)
        {
            byte code = packet[at++];
            if (code == DhcpOption.Pad) continue;
            if (code == DhcpOption.End) break;
            if (at >= packet.Length) return false;
            int length = packet[at++];
            if (at + length > packet.Length) return false;                  // an option running off the end
            options[code] = options.TryGetValue(code, out var earlier)       // RFC 3396: repeated options concatenate
                ? [.. earlier, .. packet.Slice(at, length)]
                : packet.Slice(at, length).ToArray();
            at += length;
        }
        message = new DhcpMessage
        {
            Op = packet[0],
            TransactionId = BinaryPrimitives.ReadUInt32BigEndian(packet[4..]),
            Flags = BinaryPrimitives.ReadUInt16BigEndian(packet[10..]),
            ClientAddress = new IPAddress(packet.Slice(12, 4)),
            YourAddress = new IPAddress(packet.Slice(16, 4)),
            ServerAddress = new IPAddress(packet.Slice(20, 4)),
            RelayAddress = new IPAddress(packet.Slice(24, 4)),
            ClientHardwareAddress = new PhysicalAddress(packet.Slice(28, 6).ToArray()),
            Options = options,
        };
        return true;
    }

    public byte[] ToBytes()
    {
        int length = MinimumLength + Options.Sum(o => 2 + o.Value.Length) + 1;
        var packet = new byte[Math.Max(length, 300)];                          // BOOTP's minimum; some clients want it
        packet[0] = Op;
        packet[1] = 1;
        packet[2] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), TransactionId);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), Flags);
        ClientAddress.TryWriteBytes(packet.AsSpan(12, 4), out _);
        YourAddress.TryWriteBytes(packet.AsSpan(16, 4), out _);
        ServerAddress.TryWriteBytes(packet.AsSpan(20, 4), out _);
        RelayAddress.TryWriteBytes(packet.AsSpan(24, 4), out _);
        ClientHardwareAddress.GetAddressBytes().CopyTo(packet.AsSpan(28));
        MagicCookie.CopyTo(packet.AsSpan(HeaderLength));
        int at = MinimumLength;
        foreach (var (code, value) in Options)
        {
            if (value.Length > 255) throw new InvalidOperationException($"DHCP option {code} is longer than 255 bytes");
            packet[at++] = code;
            packet[at++] = (byte)value.Length;
            value.CopyTo(packet.AsSpan(at));
            at += value.Length;
        }
        packet[at] = DhcpOption.End;
        return packet;
    }
}
