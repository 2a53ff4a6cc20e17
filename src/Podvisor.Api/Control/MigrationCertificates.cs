using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Podvisor.Api.Control;

/// <summary>
/// Makes a migration's credentials (<see cref="MigrationTlsMaterial"/>): a fresh P-256 CA and one certificate it
/// signs for both ends. Short-lived (a day: a migration that outlives its completion timeout has failed anyway),
/// and the CA's key is thrown away once it has signed, so it can sign nothing else.
/// </summary>
public static class MigrationCertificates
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(1);

    private const string ServerAuth = "1.3.6.1.5.5.7.3.1", ClientAuth = "1.3.6.1.5.5.7.3.2";

    /// <param name="name">The migration (namespace/name): the certificates' common names say whose they are.</param>
    /// <param name="now">The clock (tests); the certificates are valid from five minutes before it.</param>
    public static MigrationTlsMaterial Create(string name, DateTimeOffset? now = null)
    {
        var from = (now ?? DateTimeOffset.UtcNow).AddMinutes(-5);        // a node's clock a little behind still accepts it
        var until = from + Lifetime;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN=podvisor migration CA {name}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, critical: false));
        using var ca = caRequest.CreateSelfSigned(from, until);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=podvisor migration {name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuth), new Oid(ClientAuth)], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var leaf = request.Create(ca, from, until, RandomNumberGenerator.GetBytes(16));
        return new MigrationTlsMaterial(ca.ExportCertificatePem(), leaf.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }
}
