using System.Buffers.Binary;

namespace Podvisor.Vmm.Boot;

/// <summary>struct boot_params (the "zero page"): the setup header plus what the loader fills in.</summary>
public sealed class ZeroPage
{
    public const int Size = 4096;
    public const int MaxE820Entries = 128;

    // Offsets inside struct boot_params (arch/x86/include/uapi/asm/bootparam.h).
    internal const int E820EntriesOffset = 0x1e8, TypeOfLoaderOffset = 0x210, LoadFlagsOffset = 0x211,
        RamdiskImageOffset = 0x218, RamdiskSizeOffset = 0x21c, CmdLinePtrOffset = 0x228, E820TableOffset = 0x2d0;

    public byte[] Bytes { get; } = new byte[Size];

    public static ZeroPage For(BzImage kernel)
    {
        var page = new ZeroPage();
        kernel.SetupHeader.CopyTo(page.Bytes.AsSpan(BzImage.SetupHeaderOffset));
        page.Bytes[TypeOfLoaderOffset] = 0xff;             // "undefined" boot loader: we have no registered id
        return page;
    }

    public void SetCommandLine(ulong address) =>
        BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan(CmdLinePtrOffset), checked((uint)address));

    public void SetInitrd(ulong address, ulong size)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan(RamdiskImageOffset), checked((uint)address));
        BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan(RamdiskSizeOffset), checked((uint)size));
    }

    public void SetE820(IReadOnlyList<E820Entry> entries)
    {
        if (entries.Count > MaxE820Entries) throw new BootException($"{entries.Count} e820 entries; the zero page holds {MaxE820Entries}");
        Bytes[E820EntriesOffset] = (byte)entries.Count;
        for (int i = 0; i < entries.Count; i++)
        {
            var slot = Bytes.AsSpan(E820TableOffset + i * 20, 20);
            BinaryPrimitives.WriteUInt64LittleEndian(slot, entries[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(slot[8..], entries[i].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(slot[16..], (uint)entries[i].Type);
        }
    }
}
