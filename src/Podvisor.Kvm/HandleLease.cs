using System.Runtime.InteropServices;

namespace Podvisor.Kvm;

/// <summary>
/// Holds a descriptor open (so its number cannot be closed and reused) for as long as raw code uses it: for
/// one call (<c>using var lease = …</c>) or for as long as epoll watches it.
/// </summary>
internal sealed class HandleLease : IDisposable
{
    private readonly SafeHandle _handle;
    private bool _added;

    public HandleLease(SafeHandle handle)
    {
        _handle = handle;
        handle.DangerousAddRef(ref _added);
        Fd = (int)handle.DangerousGetHandle();
    }

    public int Fd { get; }

    public void Dispose()
    {
        if (_added) _handle.DangerousRelease();
        _added = false;
    }
}
