using System.Runtime.InteropServices;

namespace Podvisor.Kvm;

/// <summary>A KVM ioctl (or a syscall the binding needs) failed; carries the call's name and errno.</summary>
public sealed class KvmException : IOException
{
    public KvmException(string operation, int errno, string? detail = null)
        : base(FormatMessage(operation, errno, detail))
    {
        Operation = operation;
        Errno = errno;
        HResult = errno;
    }

    /// <summary>The failing call, e.g. <c>KVM_SET_USER_MEMORY_REGION</c>.</summary>
    public string Operation { get; }

    /// <summary>The errno value the kernel returned.</summary>
    public int Errno { get; }

    /// <summary>The symbolic errno, e.g. <c>EEXIST</c>.</summary>
    public string ErrnoName => Errnos.NameOf(Errno);

    private static string FormatMessage(string operation, int errno, string? detail) =>
        $"{operation} failed: {Errnos.NameOf(errno)} ({Marshal.GetPInvokeErrorMessage(errno)})"
        + (detail is null ? "" : $"; {detail}");
}
