using System.Buffers.Binary;

namespace Podvisor.Vmm.Migration;

/// <summary>
/// A <see cref="MigrationMessage.Pages"/> payload: [count: 4 bytes] then per page an 8-byte word
/// (page number &lt;&lt; 1 | 1 for a page of zeros) followed by the page's 4096 bytes unless it is zeros.
/// Page numbers are pages of the guest RAM mapping (the same layout on both sides).
/// </summary>
public sealed class PageBatch
{
    public const int PageSize = 4096;
    public const int MaxPages = 256;
    public const int MaxBytes = 4 + MaxPages * (8 + PageSize);

    private readonly byte[] _buffer = new byte[MaxBytes];
    private int _length = 4;

    public int Count { get; private set; }

    public bool IsFull => Count == MaxPages;

    public ReadOnlyMemory<byte> Payload
    {
        get
        {
            BinaryPrimitives.WriteInt32LittleEndian(_buffer, Count);
            return _buffer.AsMemory(0, _length);
        }
    }

    /// <summary>Adds a page; returns whether it was zeros (sent as its number alone).</summary>
    public bool Add(ulong page, ReadOnlySpan<byte> data)
    {
        if (!data.ContainsAnyExcept((byte)0))
        {
            AddZero(page);
            return true;
        }
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(_length), page << 1);
        _length += 8;
        data.CopyTo(_buffer.AsSpan(_length, PageSize));
        _length += PageSize;
        Count++;
        return false;
    }

    /// <summary>Adds a page known to be zeros without reading it.</summary>
    public void AddZero(ulong page)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(_length), page << 1 | 1UL);
        _length += 8;
        Count++;
    }

    public void Clear()
    {
        Count = 0;
        _length = 4;
    }

    /// <summary>
    /// Writes a received batch's pages into guest RAM through <paramref name="pageSpan"/> (page number →
    /// its bytes); a page number outside RAM (<paramref name="pageCount"/>) or a short payload is refused.
    /// </summary>
    public static int Apply(ReadOnlySpan<byte> payload, ulong pageCount, SpanOfPage pageSpan)
    {
        if (payload.Length < 4) throw new MigrationException("a Pages message without its count");
        int count = BinaryPrimitives.ReadInt32LittleEndian(payload);
        if (count < 0 || count > MaxPages) throw new MigrationException($"a Pages message of {count} pages (at most {MaxPages})");
        int at = 4;
        for (int i = 0; i < count; i++)
        {
            if (payload.Length - at < 8) throw new MigrationException($"a Pages message cut short at page {i} of {count}");
            ulong word = BinaryPrimitives.ReadUInt64LittleEndian(payload[at..]);
            at += 8;
            ulong page = word >> 1;
            if (page >= pageCount) throw new MigrationException($"the source sent page {page}; guest memory has {pageCount}");
            var target = pageSpan(page);
            // A zero page is written only if it is not zero already: the target's RAM starts as untouched zeros, and
            // writing them would allocate host memory for nothing (the source sends the pages its balloon freed as zeros).
            if ((word & 1) != 0)
            {
                if (target.ContainsAnyExcept((byte)0)) target.Clear();
            }
            else
            {
                if (payload.Length - at < PageSize) throw new MigrationException($"a Pages message cut short in page {page}");
                payload.Slice(at, PageSize).CopyTo(target);
                at += PageSize;
            }
        }
        if (at != payload.Length) throw new MigrationException($"a Pages message with {payload.Length - at} bytes after its {count} pages");
        return count;
    }
}

/// <summary>The 4096 writable bytes of guest RAM page <paramref name="page"/>.</summary>
public delegate Span<byte> SpanOfPage(ulong page);
