using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Podvisor.Api.Control;

/// <summary>
/// Issues <see cref="TlsMaterial"/>: a fresh P-256 CA and one certificate it signs, no names in either (peers are
/// reached by pod IP; what identifies one is a certificate from this CA). The CA's key is thrown away once it has
/// signed, so it can sign nothing else; trusting the CA means trusting that one certificate. <see cref="Trusts"/>
/// is the matching check.
/// </summary>
public static class PrivateCa
{
    public const string ServerAuth = "1.3.6.1.5.5.7.3.1", ClientAuth = "1.3.6.1.5.5.7.3.2";

    /// <param name="purpose">Whose the certificates are (their common names say it).</param>
    /// <param name="lifetime">How long both are valid.</param>
    /// <param name="usages">The certificate's extended key usages (<see cref="ServerAuth"/>, <see cref="ClientAuth"/>).</param>
    /// <param name="now">The clock (tests); the certificates are valid from five minutes before it.</param>
    public static TlsMaterial Issue(string purpose, TimeSpan lifetime, string[] usages, DateTimeOffset? now = null)
    {
        var from = (now ?? DateTimeOffset.UtcNow).AddMinutes(-5);        // a node's clock a little behind still accepts it
        var until = from + lifetime;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN=podvisor {purpose} CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, critical: false));
        using var ca = caRequest.CreateSelfSigned(from, until);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=podvisor {purpose}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([.. usages.Select(u => new Oid(u))], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var leaf = request.Create(ca, from, until, RandomNumberGenerator.GetBytes(16));
        return new TlsMaterial(ca.ExportCertificatePem(), leaf.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>Whether <paramref name="peer"/> chains to <paramref name="ca"/> and nothing else (custom root trust, nothing from
    /// the system store, no revocation lists: the CA signed one certificate); if not, <paramref name="why"/> says why.</summary>
    public static bool Trusts(X509Certificate2 ca, X509Certificate peer, out string why)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        var presented = peer as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(peer.GetRawCertData());
        try
        {
            if (chain.Build(presented) && chain.ChainElements[^1].Certificate.RawDataMemory.Span.SequenceEqual(ca.RawDataMemory.Span))
            {
                why = "";
                return true;
            }
            why = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).DefaultIfEmpty("it is not signed by the CA"));
            return false;
        }
        finally
        {
            if (!ReferenceEquals(presented, peer)) presented.Dispose();
        }
    }
}
