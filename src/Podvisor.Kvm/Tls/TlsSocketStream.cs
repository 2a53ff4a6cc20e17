using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Podvisor.Kvm.Tls;

/// <summary>
/// A TLS session that reads and writes its socket itself (OpenSSL on the descriptor), where .NET's SslStream runs
/// OpenSSL over memory buffers and copies every record into them and out of them on both sides: a write here is
/// encrypted from the caller's buffer into OpenSSL's and sent from there; a read is received into OpenSSL's buffer,
/// decrypted in place and copied to the caller's.
/// The socket is non-blocking: a call that would block waits for the socket (on the calling thread, see
/// <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>) and is tried again, so cancelling a read or a write leaves
/// the session in step (nothing half-sent is abandoned mid-record by OpenSSL).
/// One operation at a time: a read and a write may not overlap (the migration protocol takes turns).
/// </summary>
public sealed class TlsSocketStream : Stream
{
    /// <summary>How long a wait goes without looking at its cancellation token.</summary>
    private static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(50);

    private readonly Socket _socket;
    private readonly TlsSessionHandle _session;
    private readonly Lock _lock = new();
    private bool _disposed;

    internal TlsSocketStream(Socket socket, TlsSessionHandle session)
    {
        _socket = socket;
        _session = session;
    }

    /// <summary>The version agreed, as OpenSSL names it ("TLSv1.3").</summary>
    public string Protocol { get; private set; } = "";

    /// <summary>The cipher suite agreed, by its IANA name ("TLS_AES_128_GCM_SHA256").</summary>
    public string CipherSuite { get; private set; } = "";

    /// <summary>The certificate the peer presented (OpenSSL has checked it chains to the context's CA).</summary>
    public X509Certificate2? PeerCertificate { get; private set; }

    /// <summary>The handshake, on a thread-pool thread (its waits are on the thread, as a read's are).</summary>
    internal Task HandshakeAsync(CancellationToken cancellationToken) => Task.Run(() => Handshake(cancellationToken));

    private void Handshake(CancellationToken cancellationToken)
    {
        while (true)
        {
            var (want, failure) = Step(static s => LibSsl.SSL_do_handshake(s), out _);
            if (want == Want.Done) break;
            // The peer's EOF mid-handshake comes back as a clean close (SSL_OP_IGNORE_UNEXPECTED_EOF): a failure too.
            if (want is Want.Failed or Want.Closed) throw new AuthenticationException(HandshakeFailure(failure));
            Wait(want, cancellationToken);
        }
        lock (_lock)
        {
            Protocol = LibSsl.String(LibSsl.SSL_get_version(_session)) ?? "";
            CipherSuite = LibSsl.String(LibSsl.SSL_CIPHER_standard_name(LibSsl.SSL_get_current_cipher(_session))) ?? "";
            PeerCertificate = PeerCertificateOf(_session);
        }
    }

    /// <summary>Why the handshake failed: the peer's certificate check if that is what failed, else OpenSSL's errors.</summary>
    private string HandshakeFailure(string errors)
    {
        long verify = LibSsl.SSL_get_verify_result(_session);
        string reason = verify != 0 ? $"the peer's certificate was refused: {LibSsl.String(LibSsl.X509_verify_cert_error_string((nint)verify))}" : errors;
        return reason.Length > 0 ? $"the TLS handshake failed: {reason}" : "the TLS handshake failed: the peer closed the connection";
    }

    private static unsafe X509Certificate2? PeerCertificateOf(TlsSessionHandle session)
    {
        nint peer = LibSsl.SSL_get1_peer_certificate(session);
        if (peer == 0) return null;
        try
        {
            int length = LibSsl.i2d_X509(peer, null);
            if (length <= 0) return null;
            var der = new byte[length];
            fixed (byte* start = der)
            {
                byte* cursor = start;                 // i2d advances it past what it wrote
                LibSsl.i2d_X509(peer, &cursor);
            }
            return X509CertificateLoader.LoadCertificate(der);
        }
        finally
        {
            LibSsl.X509_free(peer);
        }
    }

    // The waits are on the calling thread (poll): awaiting the socket instead woke the reader through .NET's epoll
    // thread and then a thread-pool worker, two context switches per wait, which cost the receiving launcher about a
    // tenth of its CPU in a migration's profile. A migration is one long transfer; it may hold its thread.
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return ValueTask.FromResult(Read(buffer.Span, cancellationToken));
        }
        catch (Exception e)
        {
            return ValueTask.FromException<int>(e);
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            Write(buffer.Span, cancellationToken);
            return ValueTask.CompletedTask;
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    public override int Read(Span<byte> buffer) => Read(buffer, CancellationToken.None);

    public override void Write(ReadOnlySpan<byte> buffer) => Write(buffer, CancellationToken.None);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    private int Read(Span<byte> buffer, CancellationToken cancellationToken)
    {
        if (buffer.IsEmpty) return 0;
        while (true)
        {
            int read = TryRead(buffer, out Want want);
            if (want == Want.Done) return read;
            Wait(want, cancellationToken);
        }
    }

    private void Write(ReadOnlySpan<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            int written = TryWrite(buffer, out Want want);
            buffer = buffer[written..];
            if (want != Want.Done) Wait(want, cancellationToken);
        }
    }

    /// <summary>Reads what one record holds (up to the buffer's length); 0 at the end of the stream.</summary>
    private unsafe int TryRead(Span<byte> buffer, out Want want)
    {
        fixed (byte* start = buffer)
        {
            nint at = (nint)start;
            int length = buffer.Length;
            (want, string failure) = Step(s => LibSsl.SSL_read_ex(s, (byte*)at, (nuint)length, out nuint n) == 1 ? (int)n : 0, out int read);
            if (want == Want.Failed) throw new IOException($"reading from the TLS link failed: {failure}");
            if (want == Want.Closed) want = Want.Done;            // the end of the stream: read is 0
            return read;
        }
    }

    /// <summary>Writes what it can of the buffer (with partial writes on, one record or more); how much.</summary>
    private unsafe int TryWrite(ReadOnlySpan<byte> buffer, out Want want)
    {
        fixed (byte* start = buffer)
        {
            nint at = (nint)start;
            int length = buffer.Length;
            (want, string failure) = Step(s => LibSsl.SSL_write_ex(s, (byte*)at, (nuint)length, out nuint n) == 1 ? (int)n : 0, out int written);
            if (want is Want.Failed or Want.Closed) throw new IOException($"writing to the TLS link failed: {(failure.Length > 0 ? failure : "the peer closed it")}");
            return written;
        }
    }

    private enum Want { Done, Read, Write, Closed, Failed }

    /// <summary>
    /// One OpenSSL call on the session (under the lock: OpenSSL's session is not for two threads at once) and what it
    /// needs next. The error queue is per thread, so it is read here, on the thread that made the call.
    /// </summary>
    private (Want, string) Step(Func<TlsSessionHandle, int> call, out int result)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            LibSsl.ERR_clear_error();
            result = call(_session);
            int errno = Marshal.GetLastPInvokeError();
            if (result > 0) return (Want.Done, "");
            int error = LibSsl.SSL_get_error(_session, result);
            return error switch
            {
                LibSsl.ErrorNone => (Want.Done, ""),
                LibSsl.ErrorWantRead => (Want.Read, ""),
                LibSsl.ErrorWantWrite => (Want.Write, ""),
                LibSsl.ErrorZeroReturn => (Want.Closed, ""),
                LibSsl.ErrorSyscall => (Want.Failed, LibSsl.DrainErrors() is { Length: > 0 } queue ? queue
                                                      : errno != 0 ? Marshal.GetPInvokeErrorMessage(errno) : "the peer closed the connection"),
                _ => (Want.Failed, LibSsl.DrainErrors()),
            };
        }
    }

    /// <summary>Waits until the socket is readable or writable, as OpenSSL asked, looking at the token between
    /// slices of <see cref="WaitSlice"/>; a broken socket counts as ready (the next call reports what broke).</summary>
    private void Wait(Want want, CancellationToken cancellationToken)
    {
        var mode = want == Want.Read ? SelectMode.SelectRead : SelectMode.SelectWrite;
        try
        {
            while (!_socket.Poll(WaitSlice, mode)) cancellationToken.ThrowIfCancellationRequested();
        }
        catch (SocketException)
        {
        }
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Nothing is held back: each write went to the socket before it returned.</summary>
    public override void Flush() { }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_lock)
            {
                if (!_disposed)
                {
                    _disposed = true;
                    LibSsl.ERR_clear_error();
                    LibSsl.SSL_shutdown(_session);        // close_notify, if the socket takes it now; never waited for
                    LibSsl.ERR_clear_error();
                }
            }
            _session.Dispose();
            _socket.Dispose();
            PeerCertificate?.Dispose();
        }
        base.Dispose(disposing);
    }
}
