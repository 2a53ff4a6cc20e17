using System.Buffers;
using System.Runtime.InteropServices;
using Podvisor.Kvm.Abi;
using Tmds.Linux;

namespace Podvisor.Kvm;

/// <summary>
/// An io_uring(7) instance for asynchronous file I/O: vectored reads and writes straight between a file
/// and guest memory, and fsync, queued in a shared ring and started with one io_uring_enter per batch.
/// Requests live in caller-numbered slots [0, <see cref="Entries"/>): a slot's buffers stay pinned and its
/// iovec array stays put until its completion is taken. Single issuer: one thread (or one lock) at a time.
/// </summary>
public sealed unsafe class IoUring : IDisposable
{
    private const int SysSetup = 425, SysEnter = 426, SysRegister = 427;
    private const uint EnterGetEvents = 1, RegisterEventFd = 4, RegisterIoWqMaxWorkers = 19;
    private const long OffSqRing = 0, OffCqRing = 0x8000000, OffSqes = 0x10000000;

    private readonly KvmFileDescriptor _ring;
    private readonly byte* _sqRing, _cqRing;
    private readonly nuint _sqRingSize, _cqRingSize, _sqesSize;
    private readonly IoUringSqe* _sqes;
    private readonly uint* _sqTail, _sqArray, _cqHead, _cqTail;
    private readonly uint _sqMask, _cqMask;
    private readonly IoUringCqe* _cqes;
    private readonly Slot[] _slots;
    private uint _sqLocalTail, _submittedTail;
    private int _inFlight;
    private HandleLease? _eventFd;

    private sealed class Slot
    {
        public Iovec* Iovecs;
        public int Capacity;
        public readonly List<MemoryHandle> Pins = [];
        public HandleLease? File;
        public bool Busy;
    }

    /// <param name="entries">Requests that can be in flight at once (a power of two, at most 4096).</param>
    public IoUring(uint entries)
    {
        if (entries == 0 || entries > 4096 || (entries & (entries - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(entries), "a power of two up to 4096");
        var p = new IoUringParams();
        // SAFETY: p is a local the kernel fills.
        int fd = (int)(long)LibC.syscall(SysSetup, entries, &p);
        if (fd < 0) throw new KvmException("io_uring_setup", LibC.errno);
        _ring = new KvmFileDescriptor(fd);
        try
        {
            _sqRingSize = p.SqOffsets.ArrayOrFlags + p.SqEntries * sizeof(uint);
            _cqRingSize = p.CqOffsets.DroppedOrCqes + p.CqEntries * (uint)sizeof(IoUringCqe);
            bool single = (p.Features & IoUringParams.FeatureSingleMmap) != 0;
            if (single) _sqRingSize = _cqRingSize = Math.Max(_sqRingSize, _cqRingSize);
            _sqRing = Map(_sqRingSize, OffSqRing);
            _cqRing = single ? _sqRing : Map(_cqRingSize, OffCqRing);
            _sqesSize = p.SqEntries * (nuint)sizeof(IoUringSqe);
            _sqes = (IoUringSqe*)Map(_sqesSize, OffSqes);
        }
        catch
        {
            Unmap();
            _ring.Dispose();
            throw;
        }
        _sqTail = (uint*)(_sqRing + p.SqOffsets.Tail);
        _sqArray = (uint*)(_sqRing + p.SqOffsets.ArrayOrFlags);
        _sqMask = *(uint*)(_sqRing + p.SqOffsets.RingMask);
        _cqHead = (uint*)(_cqRing + p.CqOffsets.Head);
        _cqTail = (uint*)(_cqRing + p.CqOffsets.Tail);
        _cqMask = *(uint*)(_cqRing + p.CqOffsets.RingMask);
        _cqes = (IoUringCqe*)(_cqRing + p.CqOffsets.DroppedOrCqes);
        _sqLocalTail = _submittedTail = *_sqTail;
        Entries = p.SqEntries;
        _slots = new Slot[entries];
        for (int i = 0; i < _slots.Length; i++) _slots[i] = new Slot();
    }

    private byte* Map(nuint size, long offset)
    {
        // SAFETY: maps the ring's own memory as the kernel laid it out (sizes from io_uring_params).
        void* p = LibC.mmap(null, (size_t)size, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED | LibC.MAP_POPULATE, _ring.Fd, offset);
        if (p == (void*)-1) throw new KvmException("mmap(io_uring)", LibC.errno);
        return (byte*)p;
    }

    /// <summary>Slots (requests in flight at once).</summary>
    public uint Entries { get; }

    /// <summary>Requests queued or submitted whose completions have not been taken.</summary>
    public int InFlight => _inFlight;

    /// <summary>Has the kernel signal <paramref name="eventFd"/> whenever it posts a completion (so an epoll loop can
    /// wait for completions alongside everything else). Not EVENTFD_ASYNC: that signals only completions made by
    /// io-wq workers, and misses those posted from task work (a pipe or socket read, an O_DIRECT read).</summary>
    public void SignalCompletions(EventFd eventFd)
    {
        var lease = new HandleLease(eventFd.Handle);
        int efd = lease.Fd;
        // SAFETY: one int the kernel reads.
        long rc = (long)LibC.syscall(SysRegister, _ring.Fd, RegisterEventFd, &efd, 1);
        if (rc < 0)
        {
            int errno = LibC.errno;
            lease.Dispose();
            throw new KvmException("io_uring_register(EVENTFD)", errno);
        }
        _eventFd = lease;
    }

    /// <summary>
    /// Lets the kernel run up to <paramref name="bounded"/> blocking requests of this ring at once in its io-wq
    /// workers (reads and writes that cannot finish without waiting for a device, on files without async
    /// buffered I/O). The kernel's default is 4 per CPU, which caps a one-CPU host at 4 requests in flight.
    /// False if the kernel is older than 5.15 and keeps its default.
    /// </summary>
    public bool LimitBlockingWorkers(uint bounded)
    {
        uint* counts = stackalloc uint[2] { bounded, 0 };   // 0: leave the unbounded (network) limit as it is
        // SAFETY: two uints the kernel reads (and overwrites with the previous limits).
        long rc = (long)LibC.syscall(SysRegister, _ring.Fd, RegisterIoWqMaxWorkers, counts, 2);
        if (rc >= 0) return true;
        int errno = LibC.errno;
        if (errno == Errnos.EINVAL) return false;
        throw new KvmException("io_uring_register(IOWQ_MAX_WORKERS)", errno);
    }

    /// <summary>Queues a vectored read of <paramref name="file"/> at <paramref name="offset"/> into <paramref name="buffers"/>.</summary>
    public void QueueRead(int slot, SafeHandle file, ulong offset, IReadOnlyList<Memory<byte>> buffers)
    {
        var s = Claim(slot, file, buffers.Count);
        for (int i = 0; i < buffers.Count; i++) Pin(s, i, buffers[i]);
        Queue(slot, IoUringSqe.OpReadv, s, offset, (uint)buffers.Count);
    }

    /// <summary>Queues a vectored write of <paramref name="buffers"/> to <paramref name="file"/> at <paramref name="offset"/>.</summary>
    public void QueueWrite(int slot, SafeHandle file, ulong offset, IReadOnlyList<ReadOnlyMemory<byte>> buffers)
    {
        var s = Claim(slot, file, buffers.Count);
        // The kernel only reads these buffers; pinning needs the writable view of the same memory.
        for (int i = 0; i < buffers.Count; i++) Pin(s, i, MemoryMarshal.AsMemory(buffers[i]));
        Queue(slot, IoUringSqe.OpWritev, s, offset, (uint)buffers.Count);
    }

    /// <summary>Queues an fsync of <paramref name="file"/>.</summary>
    public void QueueFsync(int slot, SafeHandle file)
    {
        var s = Claim(slot, file, 0);
        Queue(slot, IoUringSqe.OpFsync, s, 0, 0);      // fsync wants addr and len zero (EINVAL otherwise)
    }

    private Slot Claim(int slot, SafeHandle file, int iovecs)
    {
        var s = _slots[slot];
        if (s.Busy) throw new InvalidOperationException($"io_uring slot {slot} is already in flight");
        if (s.Capacity < iovecs)
        {
            NativeMemory.Free(s.Iovecs);
            s.Capacity = Math.Max(iovecs, 2 * s.Capacity);
            s.Iovecs = (Iovec*)NativeMemory.Alloc((nuint)s.Capacity, (nuint)sizeof(Iovec));
        }
        s.File = new HandleLease(file);
        s.Busy = true;
        return s;
    }

    private static void Pin(Slot s, int i, Memory<byte> buffer)
    {
        // Guest RAM never moves and pinning it is a no-op: take its address without a handle to keep and release
        // (a 1 MiB disk read is 256 of them).
        if (MemoryMarshal.TryGetMemoryManager<byte, HostMemoryWindow>(buffer, out var window, out int start, out int length))
        {
            s.Iovecs[i] = new Iovec { Base = (ulong)(window!.Start + start), Length = (ulong)length };
            return;
        }
        var pin = buffer.Pin();
        s.Pins.Add(pin);
        s.Iovecs[i] = new Iovec { Base = (ulong)pin.Pointer, Length = (ulong)buffer.Length };
    }

    private void Queue(int slot, byte opcode, Slot s, ulong offset, uint length)
    {
        uint index = _sqLocalTail & _sqMask;
        _sqes[index] = new IoUringSqe
        {
            Opcode = opcode,
            Fd = s.File!.Fd,
            Offset = offset,
            Address = length == 0 ? 0 : (ulong)s.Iovecs,
            Length = length,
            UserData = (ulong)slot,
        };
        _sqArray[index] = index;
        _sqLocalTail++;
        _inFlight++;
    }

    /// <summary>Hands the kernel everything queued since the last call (one io_uring_enter).</summary>
    public void Submit()
    {
        // The SQEs and array entries must be visible before the tail that publishes them.
        Volatile.Write(ref *_sqTail, _sqLocalTail);
        while (_submittedTail != _sqLocalTail)
        {
            long rc = (long)LibC.syscall(SysEnter, _ring.Fd, _sqLocalTail - _submittedTail, 0, 0, 0, 0);
            if (rc >= 0)
            {
                _submittedTail += (uint)rc;
                continue;
            }
            int errno = LibC.errno;
            if (errno == Errnos.EINTR) continue;
            // EAGAIN/EBUSY: the kernel is short of room for completions; let some finish first.
            if (errno == Errnos.EAGAIN || errno == Errnos.EBUSY) Wait();
            else throw new KvmException("io_uring_enter", errno);
        }
    }

    /// <summary>Completions posted and not yet taken.</summary>
    public int Completed => (int)(Volatile.Read(ref *_cqTail) - *_cqHead);

    /// <summary>Blocks until at least <paramref name="atLeast"/> completions are waiting to be taken.</summary>
    public void Wait(int atLeast = 1)
    {
        while (Completed < atLeast)
        {
            long rc = (long)LibC.syscall(SysEnter, _ring.Fd, 0, atLeast, EnterGetEvents, 0, 0);
            if (rc < 0 && LibC.errno != Errnos.EINTR) throw new KvmException("io_uring_enter(GETEVENTS)", LibC.errno);
        }
    }

    /// <summary>Takes finished requests into <paramref name="completions"/> (slot, result: bytes or -errno), releasing
    /// their slots; returns how many.</summary>
    public int TakeCompletions(Span<(int Slot, int Result)> completions)
    {
        uint head = *_cqHead;
        uint tail = Volatile.Read(ref *_cqTail);
        int n = 0;
        while (head != tail && n < completions.Length)
        {
            var cqe = _cqes[head & _cqMask];
            int slot = (int)cqe.UserData;
            Release(_slots[slot]);
            completions[n++] = (slot, cqe.Result);
            head++;
        }
        // Entries read before the kernel may reuse them.
        Volatile.Write(ref *_cqHead, head);
        _inFlight -= n;
        return n;
    }

    private static void Release(Slot s)
    {
        foreach (var pin in s.Pins) pin.Dispose();
        s.Pins.Clear();
        s.File?.Dispose();
        s.File = null;
        s.Busy = false;
    }

    public void Dispose()
    {
        if (_ring.IsClosed) return;
        // The kernel may still be writing into pinned buffers: wait for every request before letting them go.
        Submit();
        Span<(int, int)> done = stackalloc (int, int)[32];
        while (_inFlight > 0)
        {
            Wait();
            TakeCompletions(done);
        }
        Unmap();
        _ring.Dispose();
        _eventFd?.Dispose();
        foreach (var s in _slots) NativeMemory.Free(s.Iovecs);
    }

    private void Unmap()
    {
        if (_sqes != null) LibC.munmap(_sqes, (size_t)_sqesSize);
        if (_cqRing != null && _cqRing != _sqRing) LibC.munmap(_cqRing, (size_t)_cqRingSize);
        if (_sqRing != null) LibC.munmap(_sqRing, (size_t)_sqRingSize);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Iovec
    {
        public ulong Base;
        public ulong Length;
    }
}
