using System.Buffers.Binary;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Podvisor.Testing;

/// <summary>
/// Hand-built PVH "kernels": a few instructions of 32-bit code in an ELF with the PVH entry note, which
/// the VMM boots like a vmlinux. They run on any KVM, kvm_pvm included, so migration is tested on this host
/// without a Linux guest.
/// </summary>
public static class TinyPvhGuest
{
    public const uint LoadAddress = 0x10_0000;
    /// <summary>The counting guests' counter (a 32-bit word).</summary>
    public const ulong CounterAddress = 0x20_0000;
    /// <summary>Where the dirtying guests write, one word per page.</summary>
    public const ulong ScratchAddress = 0x40_0000;

    /// <summary>Counts at <see cref="CounterAddress"/> forever, writing the count into one of <paramref name="pages"/> pages each time.</summary>
    public static void WriteCounter(string path, int pages) => Write(path, a =>
    {
        var loop = a.CreateLabel();
        a.Label(ref loop);
        a.inc(__dword_ptr[(uint)CounterAddress]);
        a.mov(eax, __dword_ptr[(uint)CounterAddress]);
        a.xor(edx, edx);
        a.mov(ecx, pages);
        a.div(ecx);                                  // edx = count % pages
        a.shl(edx, 12);
        a.mov(__dword_ptr[edx + (int)ScratchAddress], eax);
        a.jmp(loop);
    });

    /// <summary>Writes <paramref name="pattern"/>-derived words into <paramref name="pages"/> pages, then halts for good (interrupts off).</summary>
    public static void WriteFillAndHalt(string path, int pages, uint pattern) => Write(path, a =>
    {
        var loop = a.CreateLabel();
        var done = a.CreateLabel();
        a.xor(ecx, ecx);
        a.Label(ref loop);
        a.cmp(ecx, pages);
        a.jae(done);
        a.mov(eax, ecx);
        a.imul(eax, eax, unchecked((int)FillMultiplier));   // distinct words per page
        a.xor(eax, unchecked((int)pattern));
        a.mov(edx, ecx);
        a.shl(edx, 12);
        a.mov(__dword_ptr[edx + (int)ScratchAddress], eax);
        a.inc(ecx);
        a.jmp(loop);
        a.Label(ref done);
        a.mov(__dword_ptr[(uint)CounterAddress], 1);
        a.cli();
        var halt = a.CreateLabel();
        a.Label(ref halt);
        a.hlt();
        a.jmp(halt);
    });

    private const uint FillMultiplier = 0x9e37_79b1;

    /// <summary>The word <see cref="WriteFillAndHalt"/> leaves at the start of page <paramref name="page"/> of the scratch area.</summary>
    public static uint FillWord(int page, uint pattern) => unchecked((uint)page * FillMultiplier) ^ pattern;

    private static void Write(string path, Action<Assembler> program)
    {
        var a = new Assembler(32);
        program(a);
        using var code = new MemoryStream();
        a.Assemble(new StreamCodeWriter(code), LoadAddress);
        File.WriteAllBytes(path, Elf(code.ToArray()));
    }

    /// <summary>An ELF64 executable: one PT_LOAD of the code at <see cref="LoadAddress"/> and a PT_NOTE with XEN_ELFNOTE_PHYS32_ENTRY.</summary>
    private static byte[] Elf(byte[] code)
    {
        const int header = 64, programHeader = 56, noteOffset = header + 2 * programHeader, noteSize = 20, codeOffset = 0x1000;
        var elf = new byte[codeOffset + code.Length];
        var s = elf.AsSpan();
        ReadOnlySpan<byte> magic = [0x7f, (byte)'E', (byte)'L', (byte)'F'];
        magic.CopyTo(s);
        s[4] = 2; s[5] = 1; s[6] = 1;                                  // 64-bit, little endian, version 1
        BinaryPrimitives.WriteUInt16LittleEndian(s[16..], 2);         // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(s[18..], 62);        // x86-64
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], LoadAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], header);    // program headers follow the header
        BinaryPrimitives.WriteUInt16LittleEndian(s[52..], header);
        BinaryPrimitives.WriteUInt16LittleEndian(s[54..], programHeader);
        BinaryPrimitives.WriteUInt16LittleEndian(s[56..], 2);
        ProgramHeader(s[header..], type: 1, offset: codeOffset, address: LoadAddress, size: (ulong)code.Length);
        ProgramHeader(s[(header + programHeader)..], type: 4, offset: noteOffset, address: 0, size: noteSize);
        var note = s[noteOffset..];
        BinaryPrimitives.WriteUInt32LittleEndian(note, 4);
        BinaryPrimitives.WriteUInt32LittleEndian(note[4..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(note[8..], 18);      // XEN_ELFNOTE_PHYS32_ENTRY
        "Xen\0"u8.CopyTo(note[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(note[16..], LoadAddress);
        code.CopyTo(s[codeOffset..]);
        return elf;
    }

    private static void ProgramHeader(Span<byte> ph, uint type, ulong offset, ulong address, ulong size)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(ph, type);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], 5);         // R+X
        BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], offset);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], address);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[24..], address);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], size);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], size);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[48..], 4096);
    }
}
