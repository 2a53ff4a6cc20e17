using System.Text.Json.Serialization;

namespace Podvisor.Vmm.Migration;

/// <summary>Source-generated JSON for the machine state a migration carries (NativeAOT: no reflection).</summary>
[JsonSerializable(typeof(MachineState))]
[JsonSerializable(typeof(MigrationHello))]
[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
public sealed partial class MigrationJson : JsonSerializerContext;
