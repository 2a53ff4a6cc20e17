using System.Buffers;
using System.Buffers.Binary;

namespace Podvisor.Vmm.Migration;

/// <summary>
/// Writes the binary machine state: little-endian integers, byte arrays and lists prefixed with their length
/// (-1 for an absent array), optional values behind a presence byte. <see cref="StateReader"/> reads it back.
/// </summary>
public sealed class StateWriter(int capacity = 16 * 1024)
{
    private readonly ArrayBufferWriter<byte> _buffer = new(capacity);

    public ReadOnlyMemory<byte> Written => _buffer.WrittenMemory;

    public void Bool(bool value) => Byte(value ? (byte)1 : (byte)0);

    public void U16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.GetSpan(2), value);
        _buffer.Advance(2);
    }

    public void U32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
    }

    public void I32(int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
    }

    public void U64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }

    public void Byte(byte value)
    {
        _buffer.GetSpan(1)[0] = value;
        _buffer.Advance(1);
    }

    public void OptionalByte(byte? value)
    {
        Bool(value.HasValue);
        if (value is { } v) Byte(v);
    }

    public void OptionalU16(ushort? value)
    {
        Bool(value.HasValue);
        if (value is { } v) U16(v);
    }

    public void OptionalU64(ulong? value)
    {
        Bool(value.HasValue);
        if (value is { } v) U64(v);
    }

    public void Bytes(byte[]? value)
    {
        if (value is null)
        {
            I32(-1);
            return;
        }
        I32(value.Length);
        _buffer.Write(value);
    }

    public void List<T>(IReadOnlyList<T> items, Action<StateWriter, T> write)
    {
        I32(items.Count);
        foreach (var item in items) write(this, item);
    }
}
