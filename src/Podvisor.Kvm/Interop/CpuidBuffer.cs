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
    /// KVM_GET_CPUID2. Kernels before 6.3 write nent back only on failure, so asking with nent = 0 (E2BIG,
    /// nent = the vCPU's count) and then with exactly that room is the one way that is right everywhere.
    /// </summary>
    public static KvmCpuidEntry2[] QueryVcpu(KvmFileDescriptor fd, uint request)
    {
        uint* header = stackalloc uint[2];
        header[0] = 0;
        try
        {
            // SAFETY: an 8-byte header with nent = 0: the kernel writes no entries.
            Native.Ioctl(fd, request, header);
            return [];                                   // no CPUID has been set on this vCPU
        }
        catch (KvmException e) when (e.Errno == Errnos.E2BIG) { }

        int count = (int)header[0];
        var buffer = new byte[HeaderSize + count * sizeof(KvmCpuidEntry2)];
        fixed (byte* p = buffer)
        {
            *(uint*)p = (uint)count;
            // SAFETY: the buffer holds the header plus the `count` entries the kernel asked room for.
            Native.Ioctl(fd, request, p);
            return new ReadOnlySpan<KvmCpuidEntry2>(p + HeaderSize, count).ToArray();
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
