using System.Buffers.Binary;

namespace Podvisor.Vmm.Boot;

/// <summary>
/// struct hvm_start_info (version 1, xen/include/public/arch-x86/hvm/start_info.h) with its module list
/// (the initrd) and memory map, laid out in one block: start info (56 bytes), one module entry (32),
/// then the memory map entries (24 each). RBX points at it when the vCPU enters the kernel.
/// </summary>
public static class PvhStartInfo
{
    public const uint Magic = 0x336ec578;
    private const int StartInfoSize = 56, ModuleSize = 32, MemoryMapEntrySize = 24;

    public static byte[] Build(ulong address, ulong commandLineAddress, ulong rsdpAddress, ulong initrdAddress, ulong initrdSize,
        IReadOnlyList<E820Entry> memoryMap)
    {
        bool hasInitrd = initrdSize > 0;
        ulong modulesAddress = address + StartInfoSize;
        ulong memoryMapAddress = modulesAddress + (hasInitrd ? (ulong)ModuleSize : 0);
        var block = new byte[StartInfoSize + (hasInitrd ? ModuleSize : 0) + memoryMap.Count * MemoryMapEntrySize];
        var s = block.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(s, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], 1);                         // version: has the memory map
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], 0);                         // flags
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], hasInitrd ? 1u : 0u);      // nr_modules
        BinaryPrimitives.WriteUInt64LittleEndian(s[16..], hasInitrd ? modulesAddress : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], commandLineAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], rsdpAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(s[40..], memoryMapAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(s[48..], (uint)memoryMap.Count);
        if (hasInitrd)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(s[StartInfoSize..], initrdAddress);
            BinaryPrimitives.WriteUInt64LittleEndian(s[(StartInfoSize + 8)..], initrdSize);
        }
        int at = (int)(memoryMapAddress - address);
        foreach (var entry in memoryMap)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(s[at..], entry.Address);
            BinaryPrimitives.WriteUInt64LittleEndian(s[(at + 8)..], entry.Size);
            BinaryPrimitives.WriteUInt32LittleEndian(s[(at + 16)..], (uint)entry.Type);
            at += MemoryMapEntrySize;
        }
        return block;
    }
}
