using System.Text.Json.Serialization;

namespace Podvisor.Api.Control;

/// <summary>
/// TLS credentials, PEM-encoded: a CA made for one purpose alone (<see cref="PrivateCa"/>), a certificate it signed
/// and that certificate's key. A migration's (<see cref="MigrationCertificates"/>, in the migration's Secret
/// <see cref="LauncherLabels.MigrationSecretName"/>): both launchers present the certificate and accept only a peer
/// chained to the CA (mutual TLS). A VMI's control API's (<see cref="ControlCertificates"/>, in its control Secret):
/// the launcher serves the certificate and the operator accepts only a launcher chained to that VMI's CA.
/// </summary>
public sealed record TlsMaterial(
    [property: JsonPropertyName("caCertificate")] string CaCertificatePem,
    [property: JsonPropertyName("certificate")] string CertificatePem,
    [property: JsonPropertyName("key")] string KeyPem)
{
    /// <summary>The key of each file in the Secret (and file name where a pod mounts it).</summary>
    public const string CaFile = "ca.crt", CertificateFile = "tls.crt", KeyFile = "tls.key";

    /// <summary>Reads the three files a pod has mounted from the Secret.</summary>
    public static TlsMaterial ReadFolder(string folder) => new(
        File.ReadAllText(Path.Combine(folder, CaFile)), File.ReadAllText(Path.Combine(folder, CertificateFile)), File.ReadAllText(Path.Combine(folder, KeyFile)));

    /// <summary>The Secret's data.</summary>
    public Dictionary<string, byte[]> ToSecretData() => new()
    {
        [CaFile] = System.Text.Encoding.ASCII.GetBytes(CaCertificatePem),
        [CertificateFile] = System.Text.Encoding.ASCII.GetBytes(CertificatePem),
        [KeyFile] = System.Text.Encoding.ASCII.GetBytes(KeyPem),
    };

    /// <summary>Back from a Secret's data; null if a key is missing.</summary>
    public static TlsMaterial? FromSecretData(IDictionary<string, byte[]>? data)
    {
        if (data is null || !data.TryGetValue(CaFile, out var ca) || !data.TryGetValue(CertificateFile, out var cert) || !data.TryGetValue(KeyFile, out var key))
            return null;
        return new(System.Text.Encoding.ASCII.GetString(ca), System.Text.Encoding.ASCII.GetString(cert), System.Text.Encoding.ASCII.GetString(key));
    }

    // The key never appears in logs or exception messages.
    public override string ToString() => "TlsMaterial { … }";
}
