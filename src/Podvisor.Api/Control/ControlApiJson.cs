using System.Text.Json.Serialization;

namespace Podvisor.Api.Control;

/// <summary>Source-generated JSON for what the operator and the launchers say to each other (NativeAOT).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MigrateRequest))]
[JsonSerializable(typeof(LauncherMigrationStatus))]
public sealed partial class ControlApiJson : JsonSerializerContext;
