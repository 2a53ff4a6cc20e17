using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Podvisor.Api.Control;
using Podvisor.Kvm.Tls;

namespace Podvisor.Launcher.Migration;

/// <summary>
/// Mutual TLS for the migration link: each end presents the migration's certificate and accepts only a peer whose
/// certificate chains to the migration's own CA (<see cref="TlsMaterial"/>). Host names are not checked:
/// the CA exists for this one migration, so a certificate it signed identifies a party to it whatever address it
/// is reached at (pod IPs are not in certificates). Every byte of guest memory goes through it, so the link is
/// OpenSSL on the socket itself (<see cref="TlsSocketStream"/>: no copies through .NET's buffers; kernel TLS measured
/// slower, docs/migration.md) with the cipher suite that encrypts fastest where the launcher runs
/// (<see cref="PreferredCipherSuites"/>).
/// </summary>
public sealed class MigrationTls : IDisposable
{
    /// <summary>How long a peer gets to complete the handshake (a connection that never speaks is dropped).</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(15);

    private readonly X509Certificate2 _ca;
    private readonly MutualTlsContext _context;

    private MigrationTls(X509Certificate2 ca, MutualTlsContext context)
    {
        _ca = ca;
        _context = context;
    }

    /// <exception cref="LauncherException">The PEM cannot be read, or the certificate is not from the CA.</exception>
    public static MigrationTls From(TlsMaterial material)
    {
        X509Certificate2? ca = null;
        try
        {
            ca = X509Certificate2.CreateFromPem(material.CaCertificatePem);
            // The key is read once, by OpenSSL (MutualTlsContext.Create refuses one that is not the certificate's).
            using (var certificate = X509Certificate2.CreateFromPem(material.CertificatePem))
                if (!PrivateCa.Trusts(ca, certificate, out string why))
                    throw new LauncherException($"the migration certificate does not chain to the migration CA: {why}");
            var context = MutualTlsContext.Create(material.CaCertificatePem, material.CertificatePem, material.KeyPem, Version, string.Join(':', PreferredCipherSuites));
            return new MigrationTls(ca, context);
        }
        catch (Exception e) when (e is CryptographicException or TlsException)
        {
            ca?.Dispose();
            throw new LauncherException($"the migration's TLS credentials cannot be read: {e.Message}");
        }
        catch (LauncherException)
        {
            ca?.Dispose();
            throw;
        }
    }

    /// <summary>TLS 1.3 only.</summary>
    private const TlsVersion Version = TlsVersion.Tls13;

    /// <summary>
    /// TLS 1.3's suites in the order Go's TLS stack uses: with AES and carry-less multiply in hardware, AES-128-GCM first
    /// (the mandatory suite; faster than AES-256-GCM everywhere — 10 rounds, not 14 — and measured 72.8 vs 62.7 MB/s by
    /// <c>openssl speed</c> in the emulated KVM host, where OpenSSL's default picked AES-256-GCM); without them,
    /// ChaCha20-Poly1305, which needs neither. Both ends offer all three, so any pair of launchers agrees.
    /// </summary>
    public static IReadOnlyList<string> PreferredCipherSuites { get; } =
        System.Runtime.Intrinsics.X86.Aes.IsSupported && System.Runtime.Intrinsics.X86.Pclmulqdq.IsSupported
            ? ["TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_256_GCM_SHA384"]
            : ["TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"];

    /// <summary>The target's side: the handshake on an accepted connection (the stream owns it from here on).</summary>
    public Task<TlsSocketStream> AcceptAsync(Socket connection, CancellationToken cancellationToken) =>
        HandshakeAsync(ct => _context.AcceptAsync(connection, ct), cancellationToken);

    /// <summary>The source's side: the handshake on a connection to the target (the stream owns it from here on).</summary>
    public Task<TlsSocketStream> ConnectAsync(Socket connection, CancellationToken cancellationToken) =>
        HandshakeAsync(ct => _context.ConnectAsync(connection, ct), cancellationToken);

    /// <summary>
    /// Runs one side's handshake within <see cref="HandshakeTimeout"/>; the connection is closed if it fails. OpenSSL
    /// has checked the peer's certificate against the CA; it is checked once more as the launcher's other TLS is
    /// (<see cref="PrivateCa.Trusts"/>), so both links accept exactly the same certificates.
    /// </summary>
    private async Task<TlsSocketStream> HandshakeAsync(Func<CancellationToken, Task<TlsSocketStream>> handshake, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(HandshakeTimeout);
        var link = await handshake(timeout.Token);
        string why = "it presented none";
        if (link.PeerCertificate is { } peer && PrivateCa.Trusts(_ca, peer, out why)) return link;
        await link.DisposeAsync();
        throw new AuthenticationException($"the peer's certificate was refused: {why}");
    }

    public void Dispose()
    {
        _ca.Dispose();
        _context.Dispose();
    }
}
