using System.Buffers.Binary;
using Podvisor.Kvm;

namespace Podvisor.Vmm.Migration;

/// <summary>
/// A <see cref="MigrationMessage.Pages"/> payload (protocol 3): [count: 4 bytes], then count 8-byte words (page number
/// &lt;&lt; 1, | 1 for a page of zeros), then the 4096 bytes of each page that is not zeros, in the words' order. Page
/// numbers are pages of the guest RAM mapping (the same layout on both sides). The data comes after all the words so
/// that pages adjacent in guest RAM are adjacent on the wire: the sender writes them from guest RAM to the link and the
/// receiver reads them from the link into guest RAM, with no batch buffer in between (protocol 2 interleaved words and
/// pages, which cost a copy of every page on each side).
/// </summary>
public sealed class PageBatch
{
    public const int PageSize = 4096;
    public const int MaxPages = 256;
    public const int MaxHeadBytes = 4 + MaxPages * 8;
    public const int MaxBytes = MaxHeadBytes + MaxPages * PageSize;

    /// <summary>A run never crosses a multiple of this many pages (1 GiB), so each is one window of the RAM mapping.</summary>
    public const ulong RunBoundaryPages = (1UL << 30) / PageSize;

    private readonly ulong[] _words = new ulong[MaxPages];

    /// <summary>The runs' pages in the guest RAM mapping <paramref name="ram"/> (page numbers are the mapping's, as on the wire).</summary>
    public static GuestPages PagesOf(HostMemory ram) =>
        (firstPage, pages) => ram.GetMemory(firstPage * PageSize, pages * PageSize);

    public int Count { get; private set; }

    /// <summary>Pages whose bytes travel (the others are zeros).</summary>
    public int DataPages { get; private set; }

    public bool IsFull => Count == MaxPages;

    public int HeadLength => 4 + Count * 8;

    public int PayloadLength => HeadLength + DataPages * PageSize;

    /// <summary>Adds a page; returns whether it was zeros (sent as its number alone). Its bytes are read again when sent.</summary>
    public bool Add(ulong page, ReadOnlySpan<byte> data)
    {
        if (!data.ContainsAnyExcept((byte)0))
        {
            AddZero(page);
            return true;
        }
        _words[Count++] = page << 1;
        DataPages++;
        return false;
    }

    /// <summary>Adds a page known to be zeros without reading it.</summary>
    public void AddZero(ulong page) => _words[Count++] = page << 1 | 1UL;

    public void Clear() => Count = DataPages = 0;

    /// <summary>Writes the count and the words (<see cref="HeadLength"/> bytes).</summary>
    public void WriteHead(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt32LittleEndian(destination, Count);
        for (int i = 0; i < Count; i++) BinaryPrimitives.WriteUInt64LittleEndian(destination[(4 + i * 8)..], _words[i]);
    }

    /// <summary>The words added so far, in order.</summary>
    public ReadOnlySpan<ulong> Words => _words.AsSpan(0, Count);

    /// <summary>
    /// The next step through <paramref name="words"/> from <paramref name="index"/>: one page of zeros, or the longest
    /// run of data pages that follow each other in guest RAM (and in the words) without crossing a
    /// <see cref="RunBoundaryPages"/> boundary. False at the end.
    /// </summary>
    public static bool NextRun(ReadOnlySpan<ulong> words, ref int index, out PageRun run)
    {
        if (index >= words.Length)
        {
            run = default;
            return false;
        }
        ulong word = words[index++];
        ulong first = word >> 1;
        if ((word & 1) != 0)
        {
            run = new PageRun(first, 1, Zeros: true);
            return true;
        }
        int pages = 1;
        while (index < words.Length && words[index] == (first + (ulong)pages) << 1 && (first + (ulong)pages) % RunBoundaryPages != 0)
        {
            pages++;
            index++;
        }
        run = new PageRun(first, pages, Zeros: false);
        return true;
    }

    /// <summary>
    /// Checks a received head ([count][words], <paramref name="head"/> holding exactly the words the count announces)
    /// against the frame's length and guest memory, and copies the words to <paramref name="words"/>. Nothing has been
    /// written to guest memory yet.
    /// </summary>
    public static void ParseHead(ReadOnlySpan<byte> head, int frameLength, ulong pageCount, Span<ulong> words)
    {
        int count = BinaryPrimitives.ReadInt32LittleEndian(head);
        int dataPages = 0;
        for (int i = 0; i < count; i++)
        {
            ulong word = BinaryPrimitives.ReadUInt64LittleEndian(head[(4 + i * 8)..]);
            if (word >> 1 >= pageCount) throw new MigrationException($"the source sent page {word >> 1}; guest memory has {pageCount}");
            if ((word & 1) == 0) dataPages++;
            words[i] = word;
        }
        long expected = 4 + count * 8L + (long)dataPages * PageSize;
        if (frameLength != expected)
            throw new MigrationException($"a Pages message of {frameLength} bytes; its {count} pages ({dataPages} with data) take {expected}");
    }

    /// <summary>The count a received head announces, checked before its words are read.</summary>
    public static int ParseCount(ReadOnlySpan<byte> count, int frameLength)
    {
        int pages = BinaryPrimitives.ReadInt32LittleEndian(count);
        if (pages < 0 || pages > MaxPages) throw new MigrationException($"a Pages message of {pages} pages (at most {MaxPages})");
        if (frameLength < 4 + pages * 8) throw new MigrationException($"a Pages message of {frameLength} bytes cannot hold the words of its {pages} pages");
        return pages;
    }
}
