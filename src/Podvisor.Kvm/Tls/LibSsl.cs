using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Tls;

/// <summary>
/// The part of OpenSSL 3 (libssl.so.3, libcrypto.so.3: the libraries .NET's own TLS uses on Linux) that
/// <see cref="TlsSocketStream"/> needs: a context with a certificate, a key and one trusted CA, and sessions that read
/// and write a socket themselves.
/// </summary>
internal static unsafe partial class LibSsl
{
    private const string Ssl = "libssl.so.3", Crypto = "libcrypto.so.3";

    public const int CtrlMode = 33, CtrlSetMinProtoVersion = 123, CtrlSetMaxProtoVersion = 124;
    public const long ModeEnablePartialWrite = 0x1, ModeAcceptMovingWriteBuffer = 0x2;
    public const ulong OpIgnoreUnexpectedEof = 1UL << 7, OpNoCompression = 1UL << 17, OpCipherServerPreference = 1UL << 22, OpNoRenegotiation = 1UL << 30;
    public const int VerifyPeer = 0x01, VerifyFailIfNoPeerCert = 0x02;
    public const int ErrorNone = 0, ErrorWantRead = 2, ErrorWantWrite = 3, ErrorSyscall = 5, ErrorZeroReturn = 6;

    [LibraryImport(Ssl)] public static partial nint TLS_method();
    [LibraryImport(Ssl)] public static partial nint SSL_CTX_new(nint method);
    [LibraryImport(Ssl)] public static partial void SSL_CTX_free(nint ctx);
    [LibraryImport(Ssl)] public static partial nint SSL_CTX_ctrl(nint ctx, int cmd, nint larg, nint parg);
    [LibraryImport(Ssl)] public static partial ulong SSL_CTX_set_options(nint ctx, ulong options);
    [LibraryImport(Ssl, StringMarshalling = StringMarshalling.Utf8)] public static partial int SSL_CTX_set_ciphersuites(nint ctx, string suites);
    [LibraryImport(Ssl, StringMarshalling = StringMarshalling.Utf8)] public static partial int SSL_CTX_set_cipher_list(nint ctx, string ciphers);
    [LibraryImport(Ssl)] public static partial int SSL_CTX_set_num_tickets(nint ctx, nuint tickets);
    [LibraryImport(Ssl)] public static partial int SSL_CTX_use_certificate(nint ctx, nint x509);
    [LibraryImport(Ssl)] public static partial int SSL_CTX_use_PrivateKey(nint ctx, nint pkey);
    [LibraryImport(Ssl)] public static partial nint SSL_CTX_get_cert_store(nint ctx);
    [LibraryImport(Ssl)] public static partial void SSL_CTX_set_verify(nint ctx, int mode, nint callback);

    [LibraryImport(Ssl)] public static partial nint SSL_new(nint ctx);
    [LibraryImport(Ssl)] public static partial void SSL_free(nint ssl);
    [LibraryImport(Ssl)] public static partial int SSL_set_fd(TlsSessionHandle ssl, int fd);
    [LibraryImport(Ssl)] public static partial void SSL_set_connect_state(TlsSessionHandle ssl);
    [LibraryImport(Ssl)] public static partial void SSL_set_accept_state(TlsSessionHandle ssl);
    [LibraryImport(Ssl, SetLastError = true)] public static partial int SSL_do_handshake(TlsSessionHandle ssl);
    [LibraryImport(Ssl, SetLastError = true)] public static partial int SSL_read_ex(TlsSessionHandle ssl, byte* buffer, nuint length, out nuint read);
    [LibraryImport(Ssl, SetLastError = true)] public static partial int SSL_write_ex(TlsSessionHandle ssl, byte* buffer, nuint length, out nuint written);
    [LibraryImport(Ssl)] public static partial int SSL_get_error(TlsSessionHandle ssl, int result);
    [LibraryImport(Ssl)] public static partial int SSL_shutdown(TlsSessionHandle ssl);
    [LibraryImport(Ssl)] public static partial nint SSL_get_verify_result(TlsSessionHandle ssl);
    [LibraryImport(Ssl)] public static partial nint SSL_get1_peer_certificate(TlsSessionHandle ssl);
    [LibraryImport(Ssl)] public static partial nint SSL_get_version(TlsSessionHandle ssl);
    [LibraryImport(Ssl)] public static partial nint SSL_get_current_cipher(TlsSessionHandle ssl);
    [LibraryImport(Ssl)] public static partial nint SSL_CIPHER_standard_name(nint cipher);

    [LibraryImport(Crypto)] public static partial nint BIO_new_mem_buf(byte* buffer, int length);
    [LibraryImport(Crypto)] public static partial int BIO_free(nint bio);
    [LibraryImport(Crypto)] public static partial nint PEM_read_bio_X509(nint bio, nint x509, nint callback, nint userData);
    [LibraryImport(Crypto)] public static partial nint PEM_read_bio_PrivateKey(nint bio, nint pkey, nint callback, nint userData);
    [LibraryImport(Crypto)] public static partial void X509_free(nint x509);
    [LibraryImport(Crypto)] public static partial int i2d_X509(nint x509, byte** output);
    [LibraryImport(Crypto)] public static partial void EVP_PKEY_free(nint pkey);
    [LibraryImport(Crypto)] public static partial int X509_STORE_add_cert(nint store, nint x509);
    [LibraryImport(Crypto)] public static partial nint X509_verify_cert_error_string(nint error);
    [LibraryImport(Crypto)] public static partial ulong ERR_get_error();
    [LibraryImport(Crypto)] public static partial void ERR_error_string_n(ulong error, byte* buffer, nuint length);
    [LibraryImport(Crypto)] public static partial void ERR_clear_error();

    /// <summary>A C string OpenSSL owns (never freed here), or null.</summary>
    public static string? String(nint text) => Marshal.PtrToStringUTF8(text);

    /// <summary>Everything on this thread's OpenSSL error queue, oldest first, and the queue emptied; "" if nothing.</summary>
    public static string DrainErrors()
    {
        var parts = new List<string>();
        byte* text = stackalloc byte[256];
        for (ulong e = ERR_get_error(); e != 0; e = ERR_get_error())
        {
            ERR_error_string_n(e, text, 256);
            parts.Add(Marshal.PtrToStringUTF8((nint)text) ?? $"error 0x{e:x}");
        }
        return string.Join("; ", parts);
    }
}
