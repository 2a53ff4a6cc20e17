using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>cloud-init NoCloud data, presented to the guest as a small disk.</summary>
public sealed class CloudInitNoCloudSource
{
    [JsonPropertyName("userData")] public string? UserData { get; set; }
    [JsonPropertyName("userDataBase64")] public string? UserDataBase64 { get; set; }
    [JsonPropertyName("networkData")] public string? NetworkData { get; set; }
}
