using System.Runtime.InteropServices;
using Tmds.Linux;

namespace Podvisor.Kvm.Interop;

/// <summary>
/// The ioctl and syscall surface. Every call turns -1 into a <see cref="KvmException"/> naming the
/// request, and keeps the descriptor alive (DangerousAddRef) for the length of the call so a concurrent
/// Dispose cannot close it, or let the number be reused, mid-ioctl.
/// </summary>
internal static unsafe class Native
{
    public const int SysGettid = 186, SysTgkill = 234;

    /// <summary>Any ioctl but KVM_RUN. EINTR is retried: the kernel gives it up before doing anything
    /// when a signal is pending (KVM_CREATE_VM does, from mm_take_all_locks, whenever the runtime signals a
    /// thread for a GC suspension at that moment — seen once in CI), so the call is simply made again.</summary>
    public static int Ioctl(KvmFileDescriptor fd, uint request, void* arg)
    {
        int rc, errno;
        do rc = RawIoctl(fd, request, arg, out errno);
        while (rc < 0 && errno == Errnos.EINTR);
        if (rc < 0) throw new KvmException(KvmIoctls.NameOf(request), errno);
        return rc;
    }

    /// <summary>The one place that calls ioctl(2): holds a reference on the descriptor for the call and
    /// returns the raw result, with errno when it is negative.</summary>
    private static int RawIoctl(KvmFileDescriptor fd, uint request, void* arg, out int errno)
    {
        bool added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            // SAFETY: arg points at a buffer at least as large as the request's encoded size (callers
            // pass a pinned struct or a buffer they sized for the variable-length part), or is unused.
            int rc = LibC.ioctl(fd.Fd, unchecked((int)request), arg);
            errno = rc < 0 ? LibC.errno : 0;
            return rc;
        }
        finally
        {
            if (added) fd.DangerousRelease();
        }
    }

    public static int Ioctl(KvmFileDescriptor fd, uint request, ulong arg) => Ioctl(fd, request, (void*)arg);

    /// <summary>A GET ioctl that fills one fixed-size struct.</summary>
    public static T Get<T>(KvmFileDescriptor fd, uint request) where T : unmanaged
    {
        T value;
        // SAFETY: pointer to a local of the request's encoded size.
        Ioctl(fd, request, &value);
        return value;
    }

    /// <summary>A SET ioctl that reads one fixed-size struct.</summary>
    public static void Set<T>(KvmFileDescriptor fd, uint request, in T value) where T : unmanaged
    {
        fixed (T* p = &value)
        {
            // SAFETY: pointer to a caller-provided value of the request's encoded size.
            Ioctl(fd, request, p);
        }
    }

    /// <summary>KVM_RUN: EINTR is a normal outcome (a kick), reported instead of thrown.</summary>
    public static int IoctlAllowInterrupt(KvmFileDescriptor fd, uint request, out bool interrupted)
    {
        int rc = RawIoctl(fd, request, null, out int errno);
        interrupted = rc < 0 && (errno == Errnos.EINTR || errno == Errnos.EAGAIN);
        if (rc < 0 && !interrupted) throw new KvmException(KvmIoctls.NameOf(request), errno);
        return Math.Max(rc, 0);
    }

    public static KvmFileDescriptor Open(string path, int flags)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            // SAFETY: p is a NUL-terminated path that outlives the call.
            int fd = LibC.open(p, flags, 0);
            if (fd < 0) throw new KvmException($"open({path})", LibC.errno);
            return new KvmFileDescriptor(fd);
        }
    }

    public static int GetTid() => (int)(long)LibC.syscall(SysGettid);

    public static void Tgkill(int pid, int tid, int signal)
    {
        long rc = (long)LibC.syscall(SysTgkill, pid, tid, signal);
        if (rc < 0) throw new KvmException("tgkill", LibC.errno);
    }
}
