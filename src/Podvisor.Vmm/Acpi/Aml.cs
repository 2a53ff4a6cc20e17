using System.Buffers.Binary;
using System.Text;

namespace Podvisor.Vmm.Acpi;

/// <summary>
/// Just enough ACPI Machine Language (ACPI 6.5, chapter 20) to describe the microVM's devices: scopes,
/// devices, named strings, integers and resource templates. Each method returns the encoded term.
/// </summary>
public static class Aml
{
    private const byte ZeroOp = 0x00, OneOp = 0x01, NameOp = 0x08, BytePrefix = 0x0a, WordPrefix = 0x0b, DWordPrefix = 0x0c,
        StringPrefix = 0x0d, ScopeOp = 0x10, BufferOp = 0x11, PackageOp = 0x12, ExtOpPrefix = 0x5b, DeviceOp = 0x82, RootChar = 0x5c;

    /// <summary><c>Scope (\NAME) { terms }</c>: NAME is a four-character segment under the root.</summary>
    public static byte[] Scope(string rootName, params byte[][] terms) =>
        [ScopeOp, .. PackageLength([RootChar, .. NameSegment(rootName), .. terms.SelectMany(t => t)])];

    /// <summary><c>Device (NAME) { terms }</c>.</summary>
    public static byte[] Device(string name, params byte[][] terms) =>
        [ExtOpPrefix, DeviceOp, .. PackageLength([.. NameSegment(name), .. terms.SelectMany(t => t)])];

    /// <summary><c>Name (NAME, value)</c>; value is an encoded data object.</summary>
    public static byte[] Name(string name, byte[] value) => [NameOp, .. NameSegment(name), .. value];

    public static byte[] String(string value) => [StringPrefix, .. Encoding.ASCII.GetBytes(value), 0];

    /// <summary>An integer in the shortest encoding.</summary>
    public static byte[] Integer(uint value) => value switch
    {
        0 => [ZeroOp],
        1 => [OneOp],
        <= byte.MaxValue => [BytePrefix, (byte)value],
        <= ushort.MaxValue => [WordPrefix, (byte)value, (byte)(value >> 8)],
        _ => [DWordPrefix, .. LittleEndian(value)],
    };

    /// <summary><c>Package () { elements }</c>: each element an encoded data object.</summary>
    public static byte[] Package(params byte[][] elements) =>
        [PackageOp, .. PackageLength([(byte)elements.Length, .. elements.SelectMany(e => e)])];

    /// <summary><c>ResourceTemplate () { descriptors }</c>: a buffer of resource descriptors closed by an end tag.</summary>
    public static byte[] ResourceTemplate(params byte[][] descriptors)
    {
        byte[] bytes = [.. descriptors.SelectMany(d => d), 0x79, 0x00];   // end tag; checksum 0 means "none"
        return [BufferOp, .. PackageLength([.. Integer((uint)bytes.Length), .. bytes])];
    }

    /// <summary><c>Memory32Fixed (ReadWrite, base, length)</c> (large resource 0x86).</summary>
    public static byte[] Memory32Fixed(uint baseAddress, uint length) =>
        [0x86, 9, 0, 1 /* read-write */, .. LittleEndian(baseAddress), .. LittleEndian(length)];

    /// <summary><c>Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { gsi }</c> (large resource 0x89): what
    /// an irqfd's pulse on an IOAPIC pin is.</summary>
    public static byte[] EdgeInterrupt(uint gsi) =>
        [0x89, 6, 0, 0b0000_0011 /* consumer, edge, active high, exclusive */, 1, .. LittleEndian(gsi)];

    /// <summary>PkgLength (20.2.4) followed by the contents: one byte up to 63 bytes in all, else a lead byte
    /// with the count of following bytes and the low nibble, then the rest eight bits at a time.</summary>
    internal static byte[] PackageLength(byte[] contents)
    {
        int length = contents.Length + 1;
        if (length <= 0x3f) return [(byte)length, .. contents];
        for (int extra = 1; extra <= 3; extra++)
        {
            length = contents.Length + 1 + extra;
            if (length >= 1 << (4 + 8 * extra)) continue;
            var encoded = new byte[1 + extra];
            encoded[0] = (byte)((extra << 6) | (length & 0xf));
            for (int i = 1; i <= extra; i++) encoded[i] = (byte)(length >> (4 + 8 * (i - 1)));
            return [.. encoded, .. contents];
        }
        throw new ArgumentException("an AML package is at most 256 MiB", nameof(contents));
    }

    private static byte[] NameSegment(string name)
    {
        if (name.Length != 4 || !name.All(c => c is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_') || char.IsAsciiDigit(name[0]))
            throw new ArgumentException($"'{name}' is not an AML name segment (four of A-Z, 0-9, _; not starting with a digit)", nameof(name));
        return Encoding.ASCII.GetBytes(name);
    }

    private static byte[] LittleEndian(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return bytes;
    }
}
