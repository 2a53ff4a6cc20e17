using System.Buffers.Binary;
using System.Text;

namespace Podvisor.Vmm.Acpi;

/// <summary>
/// An ACPI system description table: the 36-byte header every table shares (signature, length, revision,
/// checksum, OEM ids, creator) followed by a body. Built in memory, then finished with the length and a
/// checksum that makes all bytes sum to zero.
/// </summary>
public sealed class SystemDescriptionTable
{
    public const int HeaderSize = 36;
    public const string OemId = "PODVSR", OemTableId = "PODVISOR";
    private readonly List<byte> _bytes = new(256);

    public SystemDescriptionTable(string signature, byte revision)
    {
        if (signature.Length != 4) throw new ArgumentException("an ACPI signature has four characters", nameof(signature));
        Signature = signature;
        _bytes.AddRange(Encoding.ASCII.GetBytes(signature));
        _bytes.AddRange(new byte[4]);                        // length, set by Build
        _bytes.Add(revision);
        _bytes.Add(0);                                       // checksum, set by Build
        _bytes.AddRange(Encoding.ASCII.GetBytes(OemId));
        _bytes.AddRange(Encoding.ASCII.GetBytes(OemTableId));
        AppendUInt32(1);                                     // OEM revision
        _bytes.AddRange("PDVS"u8.ToArray());                 // creator id
        AppendUInt32(1);                                     // creator revision
    }

    public string Signature { get; }

    public int Length => _bytes.Count;

    public SystemDescriptionTable Append(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes) _bytes.Add(b);
        return this;
    }

    public SystemDescriptionTable AppendByte(byte value)
    {
        _bytes.Add(value);
        return this;
    }

    public SystemDescriptionTable AppendUInt16(ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        return Append(b);
    }

    public SystemDescriptionTable AppendUInt32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return Append(b);
    }

    public SystemDescriptionTable AppendUInt64(ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        return Append(b);
    }

    /// <summary>The finished table: length filled in and checksummed.</summary>
    public byte[] Build()
    {
        byte[] table = [.. _bytes];
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(4), (uint)table.Length);
        table[9] = Checksum.Of(table);
        return table;
    }
}
