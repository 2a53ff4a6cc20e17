using Podvisor.Kvm.Interop;
using Tmds.Linux;

namespace Podvisor.Kvm;

/// <summary>An eventfd(2): the doorbell for irqfd (host → guest interrupt) and ioeventfd (guest → host).</summary>
public sealed unsafe class EventFd : IDisposable
{
    public EventFd(bool nonBlocking = false)
    {
        int flags = LibC.EFD_CLOEXEC | (nonBlocking ? LibC.EFD_NONBLOCK : 0);
        int fd = LibC.eventfd(0, flags);
        if (fd < 0) throw new KvmException("eventfd", LibC.errno);
        Handle = new KvmFileDescriptor(fd);
    }

    public KvmFileDescriptor Handle { get; }

    /// <summary>Adds <paramref name="value"/> to the counter (signals the eventfd).</summary>
    public void Write(ulong value = 1)
    {
        // SAFETY: writes exactly 8 bytes from a local.
        long n;
        do n = LibC.write(Handle.Fd, &value, 8);
        while (n < 0 && LibC.errno == Errnos.EINTR);   // a signal to this thread is not a failure
        if (n != 8) throw new KvmException("eventfd write", LibC.errno);
    }

    /// <summary>Reads and resets the counter; returns null when non-blocking and nothing was signalled.</summary>
    public ulong? Read()
    {
        ulong value;
        // SAFETY: reads exactly 8 bytes into a local.
        long n;
        do n = LibC.read(Handle.Fd, &value, 8);
        while (n < 0 && LibC.errno == Errnos.EINTR);
        if (n == 8) return value;
        int errno = LibC.errno;
        if (errno == Errnos.EAGAIN) return null;
        throw new KvmException("eventfd read", errno);
    }

    public void Dispose() => Handle.Dispose();
}
