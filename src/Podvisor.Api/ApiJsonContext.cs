using System.Text.Json.Serialization;

namespace Podvisor.Api;

/// <summary>Source-generated JSON for the API types (no reflection: the CLI and launcher are NativeAOT).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VirtualMachine))]
[JsonSerializable(typeof(VirtualMachineInstance))]
[JsonSerializable(typeof(VirtualMachineInstanceMigration))]
// metadata.managedFields[].fieldsV1 is an untyped object: objects read from the API server carry a JsonElement there.
[JsonSerializable(typeof(System.Text.Json.JsonElement))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
