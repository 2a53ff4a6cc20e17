using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Podvisor.Benchmarks.Migration;

/// <summary>
/// A folder QEMU's <c>tls-creds-x509</c> reads: a CA, and a server and a client certificate it signed (P-256, the
/// server's naming 127.0.0.1, which the client checks) — the same kind of credentials Podvisor's migrations use.
/// </summary>
internal static class QemuTlsCredentials
{
    public static string Write(string folder)
    {
        Directory.CreateDirectory(folder);
        var from = DateTimeOffset.UtcNow.AddMinutes(-5);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=benchmark migration CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(from, from.AddDays(1));
        File.WriteAllText(Path.Combine(folder, "ca-cert.pem"), ca.ExportCertificatePem());
        foreach (string role in new[] { "server", "client" })
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={role}", key, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(role == "server" ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
            using var certificate = request.Create(ca, from, from.AddDays(1), RandomNumberGenerator.GetBytes(16));
            File.WriteAllText(Path.Combine(folder, $"{role}-cert.pem"), certificate.ExportCertificatePem());
            File.WriteAllText(Path.Combine(folder, $"{role}-key.pem"), key.ExportPkcs8PrivateKeyPem());
        }
        return folder;
    }
}
