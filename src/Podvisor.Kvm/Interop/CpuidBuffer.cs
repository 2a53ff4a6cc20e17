using Podvisor.Kvm.Abi;

namespace Podvisor.Kvm.Interop;

/// <summary>struct kvm_cpuid2: an 8-byte header (nent, padding) followed by nent entries.</summary>
internal static unsafe class CpuidBuffer
{
    private const int HeaderSize = 8;
    private const int MaxEntries = 256 * 4; // KVM_MAX_CPUID_ENTRIES is 256; leave room for future kernels

    /// <summary>Calls a GET ioctl that fills a kvm_cpuid2, growing the buffer while the kernel says E2BIG.</summary>
    public static KvmCpuidEntry2[] Query(KvmFileDescriptor fd, uint request)
    {
        for (int capacity = 256; ; capacity *= 2)
        {
            var buffer = new byte[HeaderSize + capacity * sizeof(KvmCpuidEntry2)];
            fixed (byte* p = buffer)
            {
                *(uint*)p = (uint)capacity;
                try
                {
                    // SAFETY: the buffer holds the header plus `capacity` entries, as nent tells the kernel.
                    Native.Ioctl(fd, request, p);
                }
                catch (KvmException e) when (e.Errno == Errnos.E2BIG && capacity < MaxEntries)
                {
                    continue;
                }
                int count = (int)*(uint*)p;
                return new ReadOnlySpan<KvmCpuidEntry2>(p + HeaderSize, count).ToArray();
            }
        }
    }

    /// <summary>
    /// KVM_GET_CPUID2. Kernels before 6.3 never report the vCPU's entry count (nent is written back
    /// neither with E2BIG nor on success), so we search for the smallest room the kernel accepts: that is
    /// the count on every kernel. E2BIG exactly when the room is too small, so the search is exact.
    /// </summary>
    public static KvmCpuidEntry2[] QueryVcpu(KvmFileDescriptor fd, uint request)
    {
        if (TryGet(fd, request, 0, out _)) return [];                 // no CPUID set on this vCPU
        int tooSmall = 0, enough = MaxEntries;
        if (!TryGet(fd, request, enough, out _))
            throw new KvmException("KVM_GET_CPUID2", Errnos.E2BIG, $"the vCPU has more than {MaxEntries} CPUID entries");
        while (enough - tooSmall > 1)
        {
            int mid = (tooSmall + enough) / 2;
            if (TryGet(fd, request, mid, out _)) enough = mid;
            else tooSmall = mid;
        }
        TryGet(fd, request, enough, out var entries);
        return entries;
    }

    private static bool TryGet(KvmFileDescriptor fd, uint request, int capacity, out KvmCpuidEntry2[] entries)
    {
        var buffer = new byte[HeaderSize + capacity * sizeof(KvmCpuidEntry2)];
        fixed (byte* p = buffer)
        {
            *(uint*)p = (uint)capacity;
            try
            {
                // SAFETY: the buffer holds the header plus `capacity` entries, as nent tells the kernel.
                Native.Ioctl(fd, request, p);
            }
            catch (KvmException e) when (e.Errno == Errnos.E2BIG)
            {
                entries = [];
                return false;
            }
            entries = new ReadOnlySpan<KvmCpuidEntry2>(p + HeaderSize, capacity).ToArray();
            return true;
        }
    }

    /// <summary>Calls a SET ioctl with a kvm_cpuid2 holding <paramref name="entries"/>.</summary>
    public static void Set(KvmFileDescriptor fd, uint request, ReadOnlySpan<KvmCpuidEntry2> entries)
    {
        var buffer = new byte[HeaderSize + entries.Length * sizeof(KvmCpuidEntry2)];
        fixed (byte* p = buffer)
        {
            *(uint*)p = (uint)entries.Length;
            entries.CopyTo(new Span<KvmCpuidEntry2>(p + HeaderSize, entries.Length));
            // SAFETY: header plus exactly nent entries.
            Native.Ioctl(fd, request, p);
        }
    }
}
