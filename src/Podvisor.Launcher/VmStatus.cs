using System.Text.Json.Serialization;

namespace Podvisor.Launcher;

/// <summary>The VM as the control API reports it (GET /v1/status).</summary>
public sealed record VmStatus(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("vcpus")] int Vcpus,
    [property: JsonPropertyName("memoryMiB")] ulong MemoryMiB,
    [property: JsonPropertyName("restarts")] int Restarts,
    [property: JsonPropertyName("bootTimeMs")] double? BootTimeMs,
    [property: JsonPropertyName("stopReason")] string? StopReason,
    [property: JsonPropertyName("stopDetail")] string? StopDetail,
    [property: JsonPropertyName("interfaces")] IReadOnlyList<GuestInterface>? Interfaces = null);

/// <summary>A guest NIC as the launcher knows it: its MAC, and its address once the guest took one by DHCP
/// (names as in KubeVirt's VMI status.interfaces).</summary>
public sealed record GuestInterface(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("mac")] string Mac,
    [property: JsonPropertyName("ipAddress")] string? IpAddress);

/// <summary>Source-generated JSON for the control API (NativeAOT).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VmStatus))]
[JsonSerializable(typeof(ControlError))]
public sealed partial class ControlJsonContext : JsonSerializerContext;

/// <summary>An error answer: what went wrong, and what to do.</summary>
public sealed record ControlError([property: JsonPropertyName("error")] string Error);
