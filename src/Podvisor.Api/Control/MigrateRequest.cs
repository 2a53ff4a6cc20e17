using System.Text.Json.Serialization;

namespace Podvisor.Api.Control;

/// <summary>
/// The operator's request to a source launcher (<c>PUT /v1/migrate</c>): send the VM to the target launcher
/// listening at <see cref="TargetAddress"/>:<see cref="TargetPort"/>, authenticating both ways with <see cref="Tls"/>.
/// Unset limits take the launcher's defaults (KubeVirt's: 150 s per GiB, 150 s without progress).
/// </summary>
public sealed record MigrateRequest(
    [property: JsonPropertyName("migrationUid")] string MigrationUid,
    [property: JsonPropertyName("targetAddress")] string TargetAddress,
    [property: JsonPropertyName("targetPort")] int TargetPort,
    [property: JsonPropertyName("tls")] TlsMaterial Tls,
    [property: JsonPropertyName("maxDowntimeMilliseconds")] double? MaxDowntimeMilliseconds = null,
    [property: JsonPropertyName("completionTimeoutPerGiB")] double? CompletionTimeoutPerGiBSeconds = null,
    [property: JsonPropertyName("progressTimeout")] double? ProgressTimeoutSeconds = null,
    [property: JsonPropertyName("allowAutoConverge")] bool? AllowAutoConverge = null)
{
    /// <summary>What is wrong with the request, field by field (empty: nothing).</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(MigrationUid)) problems.Add("migrationUid: required");
        if (string.IsNullOrWhiteSpace(TargetAddress)) problems.Add("targetAddress: required");
        if (TargetPort is < 1 or > 65535) problems.Add($"targetPort: {TargetPort} is not a TCP port (1-65535)");
        if (Tls is null || string.IsNullOrWhiteSpace(Tls.CaCertificatePem) || string.IsNullOrWhiteSpace(Tls.CertificatePem) || string.IsNullOrWhiteSpace(Tls.KeyPem))
            problems.Add("tls: caCertificate, certificate and key are required (PEM)");
        if (MaxDowntimeMilliseconds is <= 0) problems.Add($"maxDowntimeMilliseconds: {MaxDowntimeMilliseconds} must be positive");
        if (CompletionTimeoutPerGiBSeconds is <= 0) problems.Add($"completionTimeoutPerGiB: {CompletionTimeoutPerGiBSeconds} must be positive");
        if (ProgressTimeoutSeconds is <= 0) problems.Add($"progressTimeout: {ProgressTimeoutSeconds} must be positive");
        return problems;
    }
}
