using System.Text.Json.Serialization;

namespace Podvisor.Api;

public sealed class VirtualMachineInstanceMigrationSpec
{
    /// <summary>The instance to migrate, in the migration's namespace.</summary>
    [JsonPropertyName("vmiName")] public string? VmiName { get; set; }
}
