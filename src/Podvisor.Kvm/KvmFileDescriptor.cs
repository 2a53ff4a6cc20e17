using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace Podvisor.Kvm;

/// <summary>Owns one file descriptor of the KVM API (system, VM or vCPU fd, or an eventfd).</summary>
public sealed class KvmFileDescriptor : SafeHandleZeroOrMinusOneIsInvalid
{
    internal KvmFileDescriptor(int fd) : base(ownsHandle: true) => SetHandle(fd);

    /// <summary>The raw descriptor; throws <see cref="ObjectDisposedException"/> once closed.</summary>
    public int Fd
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return (int)handle;
        }
    }

    protected override bool ReleaseHandle() => LibC.close((int)handle) == 0;
}
