using System.Numerics;

namespace Podvisor.Kvm;

/// <summary>One bit per guest page of a memory slot, as KVM_GET_DIRTY_LOG returns it.</summary>
public sealed class DirtyBitmap
{
    public DirtyBitmap(ulong pageCount)
    {
        PageCount = pageCount;
        Words = new ulong[(pageCount + 63) / 64];
    }

    public ulong PageCount { get; }

    /// <summary>The bitmap words; bit i of word w is page w*64+i of the slot.</summary>
    public ulong[] Words { get; }

    public bool IsDirty(ulong page)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(page, PageCount);
        return (Words[page / 64] >> (int)(page % 64) & 1) != 0;
    }

    /// <summary>Marks a page written. Atomic: vCPU threads and device I/O threads mark pages concurrently.</summary>
    public void MarkDirty(ulong page)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(page, PageCount);
        ulong bit = 1UL << (int)(page % 64);
        // Most marks hit a page already marked: a plain read first keeps the cache line shared.
        if ((Volatile.Read(ref Words[page / 64]) & bit) == 0) Interlocked.Or(ref Words[page / 64], bit);
    }

    public ulong CountDirty()
    {
        ulong n = 0;
        foreach (ulong w in Words) n += (ulong)BitOperations.PopCount(w);
        return n;
    }

    /// <summary>Marks every page dirty (bits past <see cref="PageCount"/> stay clear).</summary>
    public void MarkAllDirty()
    {
        Array.Fill(Words, ulong.MaxValue);
        int spare = (int)(PageCount % 64);
        if (spare != 0) Words[^1] = (1UL << spare) - 1;
    }

    /// <summary>The dirty page numbers in ascending order.</summary>
    public IEnumerable<ulong> DirtyPages() => DirtyPages(0, Words.Length);

    /// <summary>The dirty page numbers of words [firstWord, firstWord+wordCount), in ascending order.</summary>
    public IEnumerable<ulong> DirtyPages(int firstWord, int wordCount)
    {
        for (int w = firstWord; w < firstWord + wordCount; w++)
        {
            ulong bits = Words[w];
            while (bits != 0)
            {
                int b = BitOperations.TrailingZeroCount(bits);
                yield return (ulong)w * 64 + (ulong)b;
                bits &= bits - 1;
            }
        }
    }

    /// <summary>ORs another bitmap of the same slot into this one (KVM's log with the VMM's own writes).</summary>
    public void UnionWith(DirtyBitmap other)
    {
        if (other.PageCount != PageCount) throw new ArgumentException("bitmaps cover different page counts", nameof(other));
        for (int i = 0; i < Words.Length; i++) Words[i] |= other.Words[i];
    }
}
