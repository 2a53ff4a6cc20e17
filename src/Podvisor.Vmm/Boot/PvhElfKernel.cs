using System.Buffers.Binary;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Boot;

/// <summary>
/// An uncompressed ELF vmlinux that carries the PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): its loadable
/// segments go to their physical addresses and the vCPU starts in 32-bit protected mode at the note's
/// address. No decompression step: the fastest way into Linux.
/// </summary>
public sealed class PvhElfKernel : KernelImage
{
    public static ReadOnlySpan<byte> ElfMagic => [0x7f, (byte)'E', (byte)'L', (byte)'F'];
    private const int HeaderSize = 64, ProgramHeaderSize = 56;
    private const ushort ElfTypeExec = 2, MachineX86_64 = 62;
    private const uint PtLoad = 1, PtNote = 4;
    private const uint XenElfNotePhys32Entry = 18;

    private PvhElfKernel(string path, IReadOnlyList<Segment> segments, uint entry) : base(path)
    {
        Segments = segments;
        EntryPoint = entry;
    }

    /// <summary>A PT_LOAD segment: file bytes to copy to a physical address, then zeros up to its memory size.</summary>
    public readonly record struct Segment(ulong PhysicalAddress, ulong FileOffset, ulong FileSize, ulong MemorySize)
    {
        public ulong End => PhysicalAddress + MemorySize;
    }

    public IReadOnlyList<Segment> Segments { get; }

    /// <summary>The 32-bit PVH entry point.</summary>
    public uint EntryPoint { get; }

    /// <summary>One past the highest byte the kernel occupies.</summary>
    public ulong End => Segments.Max(s => s.End);

    public static new PvhElfKernel Load(string path)
    {
        try
        {
            using var file = File.OpenHandle(path);
            return Parse(file, RandomAccess.GetLength(file), path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BootException($"cannot read kernel {path}: {e.Message}");
        }
    }

    private static PvhElfKernel Parse(Microsoft.Win32.SafeHandles.SafeFileHandle file, long length, string name)
    {
        var header = new byte[HeaderSize];
        if (length < HeaderSize || RandomAccess.Read(file, header, 0) != HeaderSize || !header.AsSpan(0, 4).SequenceEqual(ElfMagic))
            throw new BootException($"{name} is not an ELF file");
        if (header[4] != 2 || header[5] != 1)
            throw new BootException($"{name} is not a 64-bit little-endian ELF file");
        if (BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(16)) != ElfTypeExec
            || BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(18)) != MachineX86_64)
            throw new BootException($"{name} is not an x86-64 executable ELF (a vmlinux)");
        ulong phOffset = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(32));
        ushort phSize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(54));
        ushort phCount = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(56));
        if (phSize != ProgramHeaderSize || phCount == 0 || phCount > 64 || phOffset + (ulong)(phSize * phCount) > (ulong)length)
            throw new BootException($"{name} has a malformed ELF program header table");

        var table = new byte[phSize * phCount];
        RandomAccess.Read(file, table, (long)phOffset);
        var segments = new List<Segment>();
        uint? entry = null;
        for (int i = 0; i < phCount; i++)
        {
            var ph = table.AsSpan(i * phSize, phSize);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(ph);
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]);
            ulong paddr = BinaryPrimitives.ReadUInt64LittleEndian(ph[24..]);
            ulong fileSize = BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
            ulong memSize = BinaryPrimitives.ReadUInt64LittleEndian(ph[40..]);
            if (offset > (ulong)length || fileSize > (ulong)length - offset || fileSize > memSize)
                throw new BootException($"{name}: ELF segment {i} lies outside the file");
            if (type == PtLoad && memSize > 0) segments.Add(new Segment(paddr, offset, fileSize, memSize));
            else if (type == PtNote && fileSize <= 1 << 16) entry ??= FindPvhEntry(file, offset, fileSize);
        }
        if (segments.Count == 0) throw new BootException($"{name} has no loadable ELF segments");
        if (entry is null)
            throw new BootException($"{name} is an ELF kernel without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); build it with CONFIG_PVH=y or boot its bzImage");
        return new PvhElfKernel(name, segments, entry.Value);
    }

    /// <summary>Walks ELF notes (name size, desc size, type, name, desc; each 4-byte aligned) for Xen's PHYS32_ENTRY.</summary>
    private static uint? FindPvhEntry(Microsoft.Win32.SafeHandles.SafeFileHandle file, ulong offset, ulong size)
    {
        var notes = new byte[size];
        RandomAccess.Read(file, notes, (long)offset);
        int at = 0;
        while (at + 12 <= notes.Length)
        {
            int nameSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(at));
            int descSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(at + 4));
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(at + 8));
            int name = at + 12, desc = name + Align4(nameSize), next = desc + Align4(descSize);
            if (nameSize < 0 || descSize < 0 || next > notes.Length || next <= at) return null;
            if (type == XenElfNotePhys32Entry && notes.AsSpan(name, nameSize).SequenceEqual("Xen\0"u8) && descSize >= 4)
                return BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(desc));
            at = next;
        }
        return null;
    }

    private static int Align4(int n) => (n + 3) & ~3;

    /// <summary>Copies every segment from the file straight into guest RAM and zeroes the rest of each.</summary>
    public void LoadInto(IGuestMemory memory)
    {
        using var file = File.OpenHandle(Path);
        foreach (var segment in Segments)
        {
            if (segment.MemorySize > int.MaxValue)
                throw new BootException($"{Path}: an ELF segment of {segment.MemorySize >> 20} MiB is too large");
            var destination = memory.GetSpan(new GuestAddress(segment.PhysicalAddress), (int)segment.MemorySize);
            int read = 0;
            while (read < (int)segment.FileSize)
            {
                int n = RandomAccess.Read(file, destination[read..(int)segment.FileSize], (long)segment.FileOffset + read);
                if (n <= 0) throw new BootException($"{Path} ended inside an ELF segment");
                read += n;
            }
            destination[(int)segment.FileSize..].Clear();
        }
    }
}
