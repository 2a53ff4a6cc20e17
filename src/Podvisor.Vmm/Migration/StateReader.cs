using System.Buffers.Binary;

namespace Podvisor.Vmm.Migration;

/// <summary>
/// Reads what <see cref="StateWriter"/> wrote. Every length is checked against what is left, so a truncated or
/// corrupt payload is a <see cref="MigrationException"/> naming the field, never an out-of-range read or a huge
/// allocation.
/// </summary>
public sealed class StateReader(ReadOnlyMemory<byte> payload, string what)
{
    private int _position;

    public int Remaining => payload.Length - _position;

    private ReadOnlySpan<byte> Take(int count, string field)
    {
        if (count < 0 || count > Remaining)
            throw new MigrationException($"the peer's {what} is cut short or corrupt: {field} needs {count} bytes, {Remaining} left");
        var span = payload.Span.Slice(_position, count);
        _position += count;
        return span;
    }

    public byte Byte(string field) => Take(1, field)[0];

    public bool Bool(string field) => Byte(field) switch
    {
        0 => false,
        1 => true,
        var b => throw new MigrationException($"the peer's {what} is corrupt: {field} is {b}, not a boolean"),
    };

    public ushort U16(string field) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, field));

    public uint U32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, field));

    public int I32(string field) => BinaryPrimitives.ReadInt32LittleEndian(Take(4, field));

    public ulong U64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, field));

    public byte? OptionalByte(string field) => Bool(field) ? Byte(field) : null;

    public ushort? OptionalU16(string field) => Bool(field) ? U16(field) : null;

    public ulong? OptionalU64(string field) => Bool(field) ? U64(field) : null;

    public byte[]? OptionalBytes(string field)
    {
        int length = I32(field);
        return length == -1 ? null : Take(length, field).ToArray();
    }

    public byte[] Bytes(string field) =>
        OptionalBytes(field) ?? throw new MigrationException($"the peer's {what} is corrupt: {field} is missing");

    public List<T> List<T>(string field, Func<StateReader, T> read)
    {
        int count = I32(field);
        // Every item takes at least one byte: a count beyond what is left is corrupt, and is not allocated for.
        if (count < 0 || count > Remaining) throw new MigrationException($"the peer's {what} is corrupt: {field} has {count} items, {Remaining} bytes left");
        var items = new List<T>(count);
        for (int i = 0; i < count; i++) items.Add(read(this));
        return items;
    }

    /// <summary>Throws unless everything was read (a longer payload is another layout, not this one).</summary>
    public void End()
    {
        if (Remaining != 0) throw new MigrationException($"the peer's {what} has {Remaining} bytes more than this layout holds");
    }
}
