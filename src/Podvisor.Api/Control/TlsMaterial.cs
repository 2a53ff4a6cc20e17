using System.Text.Json.Serialization;

namespace Podvisor.Api.Control;

/// <summary>
/// One migration's TLS credentials, PEM-encoded: a CA made for this migration alone, and a certificate it signed
/// (for client and server use) with its key. Both launchers present the certificate and accept only a peer whose
/// certificate chains to this CA, so nobody but the two ends of this migration can take part in it (mutual TLS).
/// The operator keeps them in the migration's Secret (<see cref="LauncherLabels.MigrationSecretName"/>).
/// </summary>
public sealed record MigrationTlsMaterial(
    [property: JsonPropertyName("caCertificate")] string CaCertificatePem,
    [property: JsonPropertyName("certificate")] string CertificatePem,
    [property: JsonPropertyName("key")] string KeyPem)
{
    /// <summary>The key of each file in the migration's Secret (and under <see cref="LauncherPaths.MigrationDirectory"/> in the target pod).</summary>
    public const string CaFile = "ca.crt", CertificateFile = "tls.crt", KeyFile = "tls.key";

    /// <summary>Reads the three files the target pod has mounted from the migration's Secret.</summary>
    public static MigrationTlsMaterial ReadFolder(string folder) => new(
        File.ReadAllText(Path.Combine(folder, CaFile)), File.ReadAllText(Path.Combine(folder, CertificateFile)), File.ReadAllText(Path.Combine(folder, KeyFile)));

    /// <summary>The Secret's data.</summary>
    public Dictionary<string, byte[]> ToSecretData() => new()
    {
        [CaFile] = System.Text.Encoding.ASCII.GetBytes(CaCertificatePem),
        [CertificateFile] = System.Text.Encoding.ASCII.GetBytes(CertificatePem),
        [KeyFile] = System.Text.Encoding.ASCII.GetBytes(KeyPem),
    };

    /// <summary>Back from a Secret's data; null if a key is missing.</summary>
    public static MigrationTlsMaterial? FromSecretData(IDictionary<string, byte[]>? data)
    {
        if (data is null || !data.TryGetValue(CaFile, out var ca) || !data.TryGetValue(CertificateFile, out var cert) || !data.TryGetValue(KeyFile, out var key))
            return null;
        return new(System.Text.Encoding.ASCII.GetString(ca), System.Text.Encoding.ASCII.GetString(cert), System.Text.Encoding.ASCII.GetString(key));
    }

    // The key never appears in logs or exception messages.
    public override string ToString() => "MigrationTlsMaterial { … }";
}
