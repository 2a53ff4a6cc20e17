using Tmds.Linux;

namespace Podvisor.Kvm;

/// <summary>
/// An epoll(7) set: a device's I/O thread waits on its queues' ioeventfds (and its backend's descriptors)
/// at once. Each registered descriptor carries a caller-chosen token that <see cref="Wait"/> reports.
/// </summary>
public sealed unsafe class Epoll : IDisposable
{
    private readonly KvmFileDescriptor _handle;
    private readonly Dictionary<System.Runtime.InteropServices.SafeHandle, HandleLease> _registered = [];

    public Epoll()
    {
        int fd = LibC.epoll_create1(LibC.EPOLL_CLOEXEC);
        if (fd < 0) throw new KvmException("epoll_create1", LibC.errno);
        _handle = new KvmFileDescriptor(fd);
    }

    /// <summary>Watches <paramref name="handle"/> for readability (and hang-up) under <paramref name="token"/>.</summary>
    /// <param name="edgeTriggered">Report only changes (EPOLLET): the owner reads until EAGAIN, and may leave data
    /// waiting (a guest with no receive buffers) without the thread spinning on it.</param>
    public void Add(System.Runtime.InteropServices.SafeHandle handle, ulong token, bool writable = false, bool edgeTriggered = false)
    {
        var reference = new HandleLease(handle);
        var ev = new epoll_event { events = LibC.EPOLLIN | (writable ? LibC.EPOLLOUT : 0) | (edgeTriggered ? LibC.EPOLLET : 0) };
        ev.data.u64 = token;
        // SAFETY: ev is a local the kernel copies; both descriptors are held open by references.
        if (LibC.epoll_ctl(_handle.Fd, LibC.EPOLL_CTL_ADD, reference.Fd, &ev) != 0)
        {
            int errno = LibC.errno;
            reference.Dispose();
            throw new KvmException("epoll_ctl(ADD)", errno);
        }
        _registered.Add(handle, reference);
    }

    /// <summary>Stops watching <paramref name="handle"/> and lets it be closed.</summary>
    public void Remove(System.Runtime.InteropServices.SafeHandle handle)
    {
        if (!_registered.Remove(handle, out var reference)) return;
        var ev = new epoll_event();
        // SAFETY: ev is ignored by EPOLL_CTL_DEL (older kernels want it non-null); the descriptor is still held.
        LibC.epoll_ctl(_handle.Fd, LibC.EPOLL_CTL_DEL, reference.Fd, &ev);
        reference.Dispose();
    }

    /// <summary>The epoll descriptor itself: readable when something in the set is ready, so one epoll can
    /// sit inside another (a device with a changing set of sockets behind one backend handle).</summary>
    public KvmFileDescriptor Handle => _handle;

    /// <summary>Blocks until at least one descriptor is ready (or <paramref name="timeoutMs"/> passes; -1 waits
    /// for ever); writes the ready tokens into <paramref name="tokens"/> and returns how many. EINTR → 0.</summary>
    public int Wait(Span<ulong> tokens, int timeoutMs = -1)
    {
        int capacity = Math.Min(tokens.Length, 64);
        epoll_event* events = stackalloc epoll_event[capacity];
        // SAFETY: events has room for capacity entries.
        int n = LibC.epoll_wait(_handle.Fd, events, capacity, timeoutMs);
        if (n < 0)
        {
            int errno = LibC.errno;
            if (errno == Errnos.EINTR) return 0;
            throw new KvmException("epoll_wait", errno);
        }
        for (int i = 0; i < n; i++) tokens[i] = events[i].data.u64;
        return n;
    }

    public void Dispose()
    {
        _handle.Dispose();
        foreach (var reference in _registered.Values) reference.Dispose();
        _registered.Clear();
    }
}
