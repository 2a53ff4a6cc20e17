using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>Source-generated JSON for the API types (no reflection: the CLI and launcher are NativeAOT).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VirtualMachine))]
[JsonSerializable(typeof(VirtualMachineInstance))]
[JsonSerializable(typeof(VirtualMachineInstanceMigration))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
