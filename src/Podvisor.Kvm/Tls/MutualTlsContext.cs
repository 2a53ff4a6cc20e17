using System.Net.Sockets;
using System.Text;

namespace Podvisor.Kvm.Tls;

/// <summary>
/// Mutual TLS with one certificate, its key and the one CA a peer's certificate must chain to (nothing from the
/// system's store; host names are not checked: the CA is what identifies a peer). Both ends use the same context
/// type: <see cref="ConnectAsync"/> on the connecting side, <see cref="AcceptAsync"/> on the accepting one. Sessions
/// read and write the socket themselves (<see cref="TlsSocketStream"/>).
/// </summary>
public sealed class MutualTlsContext : IDisposable
{
    private nint _context;

    private MutualTlsContext(nint context) => _context = context;

    /// <param name="caPem">The CA a peer's certificate must chain to.</param>
    /// <param name="certificatePem">This end's certificate, shown to the peer.</param>
    /// <param name="keyPem">Its private key.</param>
    /// <param name="version">The one version spoken.</param>
    /// <param name="cipherSuites">OpenSSL's names, colon-separated, most preferred first (TLS 1.3 suites for
    /// <see cref="TlsVersion.Tls13"/>, TLS 1.2 cipher names otherwise). The accepting side's order wins.</param>
    /// <exception cref="TlsException">The PEM cannot be read, the key is not the certificate's, or OpenSSL refuses a setting.</exception>
    public static MutualTlsContext Create(string caPem, string certificatePem, string keyPem, TlsVersion version, string cipherSuites)
    {
        LibSsl.ERR_clear_error();
        nint context = LibSsl.SSL_CTX_new(LibSsl.TLS_method());
        if (context == 0) throw new TlsException($"SSL_CTX_new failed: {LibSsl.DrainErrors()}");
        var created = new MutualTlsContext(context);
        try
        {
            Require(LibSsl.SSL_CTX_ctrl(context, LibSsl.CtrlSetMinProtoVersion, (int)version, 0) == 1, "the TLS version");
            Require(LibSsl.SSL_CTX_ctrl(context, LibSsl.CtrlSetMaxProtoVersion, (int)version, 0) == 1, "the TLS version");
            Require((version == TlsVersion.Tls13 ? LibSsl.SSL_CTX_set_ciphersuites(context, cipherSuites)
                                                  : LibSsl.SSL_CTX_set_cipher_list(context, cipherSuites)) == 1, $"the cipher suites '{cipherSuites}'");
            // A peer's end of the connection (EOF without close_notify) reads as the end of the stream, as .NET's
            // SslStream has it: the protocol above frames its messages and sees a cut one.
            LibSsl.SSL_CTX_set_options(context, LibSsl.OpIgnoreUnexpectedEof | LibSsl.OpNoCompression
                                                | LibSsl.OpCipherServerPreference | LibSsl.OpNoRenegotiation);
            LibSsl.SSL_CTX_ctrl(context, LibSsl.CtrlMode, (nint)(LibSsl.ModeEnablePartialWrite | LibSsl.ModeAcceptMovingWriteBuffer), 0);
            // No session tickets: connections are not resumed.
            LibSsl.SSL_CTX_set_num_tickets(context, 0);

            // Setting the key checks it against the certificate set before it (OpenSSL refuses one that is not its).
            UsePem(certificatePem, "certificate", LibSsl.PEM_read_bio_X509, LibSsl.X509_free,
                certificate => LibSsl.SSL_CTX_use_certificate(context, certificate), "the certificate");
            UsePem(keyPem, "private key", LibSsl.PEM_read_bio_PrivateKey, LibSsl.EVP_PKEY_free,
                key => LibSsl.SSL_CTX_use_PrivateKey(context, key), "the private key (it must be the certificate's)");
            UsePem(caPem, "CA certificate", LibSsl.PEM_read_bio_X509, LibSsl.X509_free,
                ca => LibSsl.X509_STORE_add_cert(LibSsl.SSL_CTX_get_cert_store(context), ca), "the CA certificate");
            LibSsl.SSL_CTX_set_verify(context, LibSsl.VerifyPeer | LibSsl.VerifyFailIfNoPeerCert, 0);
            return created;
        }
        catch
        {
            created.Dispose();
            throw;
        }
    }

    /// <summary>The connecting side's handshake on <paramref name="socket"/> (connected); the stream owns the socket from
    /// here on, and closes it if the handshake fails.</summary>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The handshake failed; the message says why.</exception>
    public Task<TlsSocketStream> ConnectAsync(Socket socket, CancellationToken cancellationToken) => HandshakeAsync(socket, connecting: true, cancellationToken);

    /// <summary>The accepting side's handshake on <paramref name="socket"/> (accepted); as <see cref="ConnectAsync"/>.</summary>
    public Task<TlsSocketStream> AcceptAsync(Socket socket, CancellationToken cancellationToken) => HandshakeAsync(socket, connecting: false, cancellationToken);

    private async Task<TlsSocketStream> HandshakeAsync(Socket socket, bool connecting, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_context == 0, this);
        TlsSessionHandle session;
        try
        {
            socket.Blocking = false;          // OpenSSL's calls return at once; the stream waits on the socket instead
            session = TlsSessionHandle.Create(_context, socket.SafeHandle);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        if (connecting) LibSsl.SSL_set_connect_state(session);
        else LibSsl.SSL_set_accept_state(session);
        var stream = new TlsSocketStream(socket, session);
        try
        {
            await stream.HandshakeAsync(cancellationToken);
            return stream;
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    private delegate nint PemReader(nint bio, nint existing, nint callback, nint userData);

    /// <summary>Reads one PEM item, hands it to <paramref name="use"/> (which takes its own reference, as OpenSSL's
    /// setters do) and frees it; <paramref name="use"/> returning anything but 1 is a refusal of <paramref name="refused"/>.</summary>
    private static unsafe void UsePem(string pem, string what, PemReader read, Action<nint> free, Func<nint, int> use, string refused)
    {
        if (string.IsNullOrWhiteSpace(pem)) throw new TlsException($"the {what} PEM cannot be read: it is empty");
        byte[] bytes = Encoding.ASCII.GetBytes(pem);
        nint item;
        fixed (byte* text = bytes)
        {
            // SAFETY: the BIO reads the pinned array in place and is freed before the array is unpinned.
            nint bio = LibSsl.BIO_new_mem_buf(text, bytes.Length);
            if (bio == 0) throw new TlsException($"BIO_new_mem_buf failed: {LibSsl.DrainErrors()}");
            try
            {
                item = read(bio, 0, 0, 0);
                if (item == 0) throw new TlsException($"the {what} PEM cannot be read: {LibSsl.DrainErrors()}");
            }
            finally
            {
                LibSsl.BIO_free(bio);
            }
        }
        try
        {
            Require(use(item) == 1, refused);
        }
        finally
        {
            free(item);
        }
    }

    private static void Require(bool done, string what)
    {
        if (!done) throw new TlsException($"OpenSSL refused {what}: {LibSsl.DrainErrors()}");
    }

    public void Dispose()
    {
        // Sessions hold their own reference on the context: freeing it here leaves open ones working.
        if (_context != 0) LibSsl.SSL_CTX_free(_context);
        _context = 0;
    }
}
