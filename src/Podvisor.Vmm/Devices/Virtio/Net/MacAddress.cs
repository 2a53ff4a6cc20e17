using System.Globalization;
using System.Security.Cryptography;

namespace Podvisor.Vmm.Devices.Virtio.Net;

/// <summary>An Ethernet address, as written "02:00:00:aa:bb:cc".</summary>
public readonly record struct MacAddress(byte B0, byte B1, byte B2, byte B3, byte B4, byte B5)
{
    public byte[] ToBytes() => [B0, B1, B2, B3, B4, B5];

    public override string ToString() => $"{B0:x2}:{B1:x2}:{B2:x2}:{B3:x2}:{B4:x2}:{B5:x2}";

    public static MacAddress Parse(string text)
    {
        var parts = text.Split(':');
        if (parts.Length != 6 || parts.Any(p => p.Length != 2 || !byte.TryParse(p, NumberStyles.HexNumber, null, out _)))
            throw new ArgumentException($"'{text}' is not a MAC address (six hex pairs, e.g. 02:00:00:00:00:01)");
        var b = parts.Select(p => byte.Parse(p, NumberStyles.HexNumber)).ToArray();
        if ((b[0] & 1) != 0) throw new ArgumentException($"{text} is a multicast address; a NIC needs a unicast one (even first byte)");
        return new(b[0], b[1], b[2], b[3], b[4], b[5]);
    }

    /// <summary>A random locally administered unicast address (02:…, as QEMU and Firecracker users pick).</summary>
    public static MacAddress Random()
    {
        Span<byte> b = stackalloc byte[6];
        RandomNumberGenerator.Fill(b);
        return new((byte)((b[0] & 0xfe) | 0x02), b[1], b[2], b[3], b[4], b[5]);
    }
}
