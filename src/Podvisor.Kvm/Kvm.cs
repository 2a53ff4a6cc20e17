using Podvisor.Kvm.Abi;
using Podvisor.Kvm.Interop;
using Tmds.Linux;

namespace Podvisor.Kvm;

/// <summary>The system-level KVM handle (/dev/kvm): what the host supports, and VM creation.</summary>
public sealed unsafe class Kvm : IDisposable
{
    /// <summary>The only KVM API version there has ever been in mainline (KVM_API_VERSION).</summary>
    public const int ExpectedApiVersion = 12;

    private Kvm(KvmFileDescriptor fd) => Handle = fd;

    public KvmFileDescriptor Handle { get; }

    /// <summary>Opens /dev/kvm (or <paramref name="path"/>) and checks the API version.</summary>
    public static Kvm Open(string path = "/dev/kvm")
    {
        var kvm = new Kvm(Native.Open(path, LibC.O_RDWR | LibC.O_CLOEXEC));
        int version = kvm.ApiVersion;
        if (version != ExpectedApiVersion)
        {
            kvm.Dispose();
            throw new NotSupportedException($"{path} speaks KVM API version {version}; Podvisor needs {ExpectedApiVersion}");
        }
        return kvm;
    }

    public int ApiVersion => Native.Ioctl(Handle, KvmIoctls.GetApiVersion, 0);

    /// <summary>KVM_CHECK_EXTENSION: 0 when unsupported, else 1 or a capability-specific value.</summary>
    public int CheckExtension(KvmCapability capability) => Native.Ioctl(Handle, KvmIoctls.CheckExtension, (ulong)capability);

    /// <summary>Size of the shared kvm_run mapping of each vCPU (includes the PIO data page).</summary>
    public int VcpuMmapSize => Native.Ioctl(Handle, KvmIoctls.GetVcpuMmapSize, 0);

    /// <summary>KVM_GET_SUPPORTED_CPUID: every leaf KVM can expose to a guest.</summary>
    public KvmCpuidEntry2[] GetSupportedCpuid() => CpuidBuffer.Query(Handle, KvmIoctls.GetSupportedCpuid);

    /// <summary>KVM_GET_MSR_INDEX_LIST: the MSRs that KVM_GET/SET_MSRS can save and restore.</summary>
    public uint[] GetMsrIndexList() => QueryMsrList(KvmIoctls.GetMsrIndexList);

    /// <summary>KVM_GET_MSR_FEATURE_INDEX_LIST: feature MSRs readable through the system fd.</summary>
    public uint[] GetMsrFeatureIndexList() => QueryMsrList(KvmIoctls.GetMsrFeatureIndexList);

    private uint[] QueryMsrList(uint request)
    {
        // The kernel answers E2BIG with the needed count in nmsrs; ask again with that much room.
        uint count = 0;
        try
        {
            // SAFETY: a 4-byte header with nmsrs = 0: the kernel writes nothing past it.
            Native.Ioctl(Handle, request, &count);
            return [];
        }
        catch (KvmException e) when (e.Errno == Errnos.E2BIG) { }

        var buffer = new uint[count + 1];
        buffer[0] = count;
        fixed (uint* p = buffer)
        {
            // SAFETY: the buffer holds the header plus nmsrs indices.
            Native.Ioctl(Handle, request, p);
        }
        return buffer.AsSpan(1, (int)buffer[0]).ToArray();
    }

    /// <summary>KVM_CREATE_VM (default machine type).</summary>
    public Vm CreateVm()
    {
        int fd = Native.Ioctl(Handle, KvmIoctls.CreateVm, 0);
        return new Vm(this, new KvmFileDescriptor(fd));
    }

    public void Dispose() => Handle.Dispose();
}
