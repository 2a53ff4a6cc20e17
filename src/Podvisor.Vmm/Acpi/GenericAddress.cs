using System.Buffers.Binary;

namespace Podvisor.Vmm.Acpi;

/// <summary>An ACPI Generic Address Structure (12 bytes): where a register lives and how wide it is.</summary>
public readonly record struct GenericAddress(byte AddressSpace, byte BitWidth, byte BitOffset, byte AccessSize, ulong Address)
{
    public const byte SystemIo = 1;
    public const byte ByteAccess = 1, WordAccess = 2;

    public static GenericAddress Empty => default;

    /// <summary>An 8-bit register on an I/O port.</summary>
    public static GenericAddress IoPort8(ushort port) => new(SystemIo, 8, 0, ByteAccess, port);

    public byte[] ToBytes()
    {
        var bytes = new byte[12];
        bytes[0] = AddressSpace;
        bytes[1] = BitWidth;
        bytes[2] = BitOffset;
        bytes[3] = AccessSize;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(4), Address);
        return bytes;
    }
}
