using Tmds.Linux;

namespace Podvisor.Kvm;

/// <summary>
/// An anonymous private mapping that backs guest RAM. The mapping is the only way the rest of the VMM
/// reaches it: every access is bounds-checked against the mapping, so no guest-supplied offset can reach
/// other host memory.
/// </summary>
public sealed unsafe class HostMemory : IDisposable
{
    public const ulong HugePageSize = 2 << 20;
    private byte* _base;

    /// <param name="transparentHugePages">
    /// Back the mapping with 2 MiB transparent huge pages where the host allows (madvise MADV_HUGEPAGE on a
    /// 2 MiB-aligned mapping): a guest touching fresh memory then faults once per 2 MiB instead of once per
    /// 4 KiB, and KVM can map it with large pages. Guest RAM uses it, as QEMU's does.
    /// </param>
    public HostMemory(ulong size, bool transparentHugePages = false)
    {
        if (size == 0 || size % (ulong)Environment.SystemPageSize != 0)
            throw new ArgumentException($"size must be a non-zero multiple of the page size, got {size}", nameof(size));
        ulong reserve = transparentHugePages ? size + HugePageSize : size;
        // SAFETY: a fresh anonymous mapping; no existing memory is affected. MAP_NORESERVE: guest RAM is
        // accounted by the pod's limits, not by overcommit heuristics.
        void* p = LibC.mmap(null, (size_t)reserve, LibC.PROT_READ | LibC.PROT_WRITE,
            LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0);
        if (p == (void*)-1) throw new KvmException("mmap", LibC.errno, $"{size} bytes of guest memory");
        byte* start = (byte*)p;
        if (transparentHugePages)
        {
            // Keep the 2 MiB-aligned part; give back the unaligned head and the rest of the tail.
            ulong head = (HugePageSize - (ulong)start % HugePageSize) % HugePageSize;
            ulong tail = reserve - head - size;
            // SAFETY: both ranges lie inside the mapping just created and outside the part we keep.
            if (head > 0) LibC.munmap(start, (size_t)head);
            if (tail > 0) LibC.munmap(start + head + size, (size_t)tail);
            start += head;
            // SAFETY: advice on our own mapping; EINVAL only means this kernel has no THP (then 4 KiB pages).
            LibC.madvise(start, (size_t)size, LibC.MADV_HUGEPAGE);
        }
        _base = start;
        Size = size;
    }

    private HostMemory(byte* start, ulong size, ulong hugeTlbPageSize)
    {
        _base = start;
        Size = size;
        HugeTlbPageSize = hugeTlbPageSize;
    }

    /// <summary>The hugetlbfs page size backing the mapping, or 0 for ordinary (possibly THP) memory.</summary>
    public ulong HugeTlbPageSize { get; }

    /// <summary>
    /// Memory from the host's hugetlbfs pool (2 MiB or 1 GiB pages), reserved up front: the mapping fails
    /// at once, with the pool's state in the message, when the pool cannot hold it all.
    /// </summary>
    public static HostMemory WithHugeTlbPages(ulong size, ulong pageSize)
    {
        int sizeFlag = pageSize switch
        {
            2UL << 20 => LibC.MAP_HUGE_2MB,
            1UL << 30 => LibC.MAP_HUGE_1GB,
            _ => throw new ArgumentException($"huge pages are 2 MiB or 1 GiB, not {pageSize} bytes", nameof(pageSize)),
        };
        if (size == 0 || size % pageSize != 0)
            throw new ArgumentException($"memory backed by {pageSize >> 20} MiB pages must be a multiple of that, got {size >> 20} MiB", nameof(size));
        // SAFETY: a fresh anonymous mapping; no existing memory is affected. No MAP_NORESERVE: the pool is
        // charged now, so a short pool is an error here and not a SIGBUS in the middle of the guest's boot.
        void* p = LibC.mmap(null, (size_t)size, LibC.PROT_READ | LibC.PROT_WRITE,
            LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_HUGETLB | sizeFlag, -1, 0);
        if (p == (void*)-1)
        {
            int errno = LibC.errno;
            throw new KvmException("mmap", errno,
                $"{size >> 20} MiB of {pageSize >> 20} MiB huge pages: the host's pool has too few free (see HugePages_Free in /proc/meminfo; "
                + $"raise /sys/kernel/mm/hugepages/hugepages-{pageSize >> 10}kB/nr_hugepages)");
        }
        return new HostMemory((byte*)p, size, pageSize);
    }

    public ulong Size { get; }

    /// <summary>The host virtual address of the first byte, as KVM_SET_USER_MEMORY_REGION wants it.</summary>
    public ulong HostAddress
    {
        get
        {
            ObjectDisposedException.ThrowIf(_base == null, this);
            return (ulong)_base;
        }
    }

    /// <summary>A view of [offset, offset+length); throws if any byte lies outside the mapping.</summary>
    public Span<byte> GetSpan(ulong offset, int length)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        if (length < 0 || offset > Size || (ulong)length > Size - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[0x{offset:x}, +0x{length:x}) is outside 0x{Size:x} bytes of memory");
        // SAFETY: the range was checked to lie inside the live mapping above.
        return new Span<byte>(_base + offset, length);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data) => data.CopyTo(GetSpan(offset, data.Length));

    public void Read(ulong offset, Span<byte> destination) => GetSpan(offset, destination.Length).CopyTo(destination);

    public T ReadValue<T>(ulong offset) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.Read<T>(GetSpan(offset, sizeof(T)));

    public void WriteValue<T>(ulong offset, T value) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.Write(GetSpan(offset, sizeof(T)), in value);

    /// <summary>Returns the pages' memory to the host (madvise DONTNEED); they read as zero afterwards.</summary>
    public void Discard(ulong offset, ulong length)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        ulong page = (ulong)Environment.SystemPageSize;
        if (offset % page != 0 || length % page != 0 || offset > Size || length > Size - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), "discard range must be page aligned and inside the mapping");
        // SAFETY: page-aligned range inside our own mapping.
        if (LibC.madvise(_base + offset, (size_t)length, LibC.MADV_DONTNEED) != 0) throw new KvmException("madvise", LibC.errno);
    }

    private const ulong WindowSize = 1UL << 30;
    private HostMemoryWindow?[]? _windows;

    /// <summary>
    /// [offset, offset+length) as <see cref="Memory{T}"/> (for scatter/gather I/O straight into the mapping).
    /// The range must not cross a 1 GiB boundary of the mapping; callers split there.
    /// </summary>
    public Memory<byte> GetMemory(ulong offset, int length)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        if (length < 0 || offset > Size || (ulong)length > Size - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside the {Size}-byte mapping");
        ulong window = offset / WindowSize;
        if (length > 0 && (offset + (ulong)length - 1) / WindowSize != window)
            throw new ArgumentOutOfRangeException(nameof(length), "the range crosses a 1 GiB window");
        _windows ??= new HostMemoryWindow?[(Size + WindowSize - 1) / WindowSize];
        var manager = Volatile.Read(ref _windows[window]);
        if (manager is null)
        {
            ulong start = window * WindowSize;
            // SAFETY: [start, start + window length) lies inside the mapping, which outlives the manager's users.
            manager = new HostMemoryWindow(_base + start, (int)Math.Min(WindowSize, Size - start));
            manager = Interlocked.CompareExchange(ref _windows[window], manager, null) ?? manager;
        }
        return manager.Whole.Slice((int)(offset % WindowSize), length);
    }

    /// <summary>Where the 1 GiB windows of <see cref="GetMemory"/> split a range.</summary>
    public static ulong BytesToWindowEnd(ulong offset) => WindowSize - offset % WindowSize;

    /// <summary>Bytes of [offset, offset+length) that are in RAM now (mincore): what the guest costs the host.</summary>
    public ulong ResidentBytes(ulong offset = 0, ulong? length = null)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        ulong page = (ulong)Environment.SystemPageSize;
        ulong count = length ?? Size - offset;
        if (offset % page != 0 || offset > Size || count > Size - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), "range must be page aligned and inside the mapping");
        ulong resident = 0;
        const ulong chunkPages = 64 * 1024;
        byte[] vector = new byte[chunkPages];
        for (ulong at = 0; at < count; at += chunkPages * page)
        {
            ulong bytes = Math.Min(chunkPages * page, count - at);
            fixed (byte* v = vector)
            {
                // SAFETY: a page-aligned range inside our mapping; v has room for one byte per page.
                if (LibC.mincore(_base + offset + at, (size_t)bytes, v) != 0) throw new KvmException("mincore", LibC.errno);
            }
            ulong pages = (bytes + page - 1) / page;
            for (ulong i = 0; i < pages; i++) resident += (ulong)(vector[i] & 1);
        }
        return resident * page;
    }

    private Microsoft.Win32.SafeHandles.SafeFileHandle? _pagemap;
    private bool _pagemapUnreadable;
    private byte[] _pagemapEntries = [];

    /// <summary>
    /// Sets bit i of <paramref name="backed"/> for each page firstPage + i of [firstPage, firstPage+count) that the
    /// kernel backs with memory or swap (/proc/self/pagemap), and clears the others: a page of this private anonymous
    /// mapping that is not backed was never written since it was mapped, or was discarded, and reads as zeros.
    /// Returns false, and leaves <paramref name="backed"/> alone, where pagemap cannot be read: then nothing is known.
    /// </summary>
    public bool TryFindBackedPages(ulong firstPage, int count, Span<ulong> backed)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        ulong page = (ulong)Environment.SystemPageSize;
        if (count < 0 || firstPage > Size / page || (ulong)count > Size / page - firstPage)
            throw new ArgumentOutOfRangeException(nameof(firstPage), $"pages [{firstPage}, +{count}) are outside the mapping's {Size / page}");
        if (backed.Length < (count + 63) / 64) throw new ArgumentException($"{count} pages need {(count + 63) / 64} words", nameof(backed));
        if (_pagemapUnreadable) return false;
        try
        {
            _pagemap ??= File.OpenHandle("/proc/self/pagemap", FileMode.Open, FileAccess.Read);
            if (_pagemapEntries.Length < count * 8) _pagemapEntries = new byte[count * 8];
            var entries = _pagemapEntries.AsSpan(0, count * 8);
            // One 8-byte entry per virtual page, at the page's virtual page number.
            long at = (long)(((ulong)_base / page + firstPage) * 8);
            int read = 0;
            while (read < entries.Length)
            {
                int n = RandomAccess.Read(_pagemap, entries[read..], at + read);
                if (n <= 0) throw new IOException("pagemap ended early");
                read += n;
            }
            backed[..((count + 63) / 64)].Clear();
            for (int i = 0; i < count; i++)
            {
                ulong entry = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(entries[(i * 8)..]);
                const ulong PresentOrSwapped = 3UL << 62;   // bit 63: present in RAM; bit 62: swapped out
                if ((entry & PresentOrSwapped) != 0) backed[i / 64] |= 1UL << (i % 64);
            }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A /proc without pagemap (some sandboxes): callers read the pages instead.
            _pagemapUnreadable = true;
            return false;
        }
    }

    public void Dispose()
    {
        if (_base == null) return;
        _pagemap?.Dispose();
        // SAFETY: unmaps exactly the mapping created in the constructor, once.
        LibC.munmap(_base, (size_t)Size);
        _base = null;
    }
}
