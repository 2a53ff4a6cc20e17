using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Tls;

/// <summary>
/// An OpenSSL session (SSL*) on a socket. It holds the socket's descriptor open for as long as it lives: OpenSSL
/// reads and writes the descriptor by number, which must not be closed and reused while a call may still use it.
/// Every call takes this handle, so a Dispose meanwhile frees the session only after the call returns.
/// </summary>
internal sealed class TlsSessionHandle : SafeHandle
{
    private HandleLease? _socket;

    public TlsSessionHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    /// <summary>A session of <paramref name="context"/> reading and writing <paramref name="socket"/>.</summary>
    public static TlsSessionHandle Create(nint context, SafeHandle socket)
    {
        var session = new TlsSessionHandle();
        nint ssl = LibSsl.SSL_new(context);
        if (ssl == 0) throw new TlsException($"SSL_new failed: {LibSsl.DrainErrors()}");
        session.SetHandle(ssl);
        session._socket = new HandleLease(socket);
        if (LibSsl.SSL_set_fd(session, session._socket.Fd) != 1)
        {
            session.Dispose();
            throw new TlsException($"SSL_set_fd failed: {LibSsl.DrainErrors()}");
        }
        return session;
    }

    protected override bool ReleaseHandle()
    {
        LibSsl.SSL_free(handle);
        _socket?.Dispose();
        return true;
    }
}
