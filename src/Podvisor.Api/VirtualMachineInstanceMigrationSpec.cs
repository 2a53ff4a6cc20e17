using System.Text.Json.Serialization;
using Podvisor.Api.Schema;

namespace Podvisor.Api;

public sealed class VirtualMachineInstanceMigrationSpec
{
    /// <summary>The instance to migrate, in the migration's namespace.</summary>
    [SchemaRequired] [JsonPropertyName("vmiName")] public string? VmiName { get; set; }
}
