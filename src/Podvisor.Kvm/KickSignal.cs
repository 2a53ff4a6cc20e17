using Podvisor.Kvm.Interop;
using Tmds.Linux;

namespace Podvisor.Kvm;

/// <summary>
/// The real-time signal that kicks a vCPU thread out of KVM_RUN. The .NET runtime claims SIGRTMIN for
/// its own activation injection; we take SIGRTMIN+2. No handler is installed: the signal stays blocked
/// on vCPU threads and KVM_SET_SIGNAL_MASK unblocks it only while inside KVM_RUN, so it interrupts the
/// ioctl (EINTR) but is never delivered; the thread then consumes it with sigtimedwait.
/// </summary>
internal static unsafe class KickSignal
{
    public static int Number { get; } = LibC.SIGRTMIN + 2;

    private static sigset_t SetOfKick()
    {
        sigset_t set;
        LibC.sigemptyset(&set);
        LibC.sigaddset(&set, Number);
        return set;
    }

    /// <summary>Blocks the kick signal on the calling thread; returns the kernel-format (8-byte) mask to use
    /// during KVM_RUN: the thread's previous mask with the kick signal open.</summary>
    public static ulong BlockOnCurrentThread()
    {
        sigset_t set = SetOfKick();
        sigset_t old;
        // SAFETY: both pointers are locals of the right type.
        int rc = LibC.pthread_sigmask(LibC.SIG_BLOCK, &set, &old);
        if (rc != 0) throw new KvmException("pthread_sigmask", rc);
        // The kernel's sigset is the first 64 bits of glibc's; bit n-1 is signal n.
        ulong kernelMask = *(ulong*)&old;
        return kernelMask & ~(1UL << (Number - 1));
    }

    /// <summary>Consumes a pending kick on the calling thread, if any.</summary>
    public static void Drain()
    {
        sigset_t set = SetOfKick();
        var zero = new timespec();
        // SAFETY: locals; a null siginfo is allowed. Returns -1/EAGAIN when nothing is pending.
        while (LibC.sigtimedwait(&set, null, &zero) == Number) { }
    }

    public static void Send(int tid) => Native.Tgkill(Environment.ProcessId, tid, Number);
}
