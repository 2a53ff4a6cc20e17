using YamlDotNet.Serialization;

namespace Podvisor.Api.Crds;

/// <summary>
/// The CustomResourceDefinitions of the API, generated from its C# types (so they cannot drift apart): full
/// openAPIV3Schema, the status subresource, printer columns and short names. A test regenerates them and
/// fails on any difference from <c>crds/</c>.
/// </summary>
public static class CrdGenerator
{
    public const string Header =
        "# Generated from the types in src/Podvisor.Api; do not edit.\n" +
        "# Regenerate: dotnet run --project src/Podvisor.Api.Crds -- crds\n";

    private sealed record Resource(Type Type, string Kind, string Plural, string[] ShortNames, (string Name, string Type, string Path, string? Description)[] Columns);

    private static readonly Resource[] Resources =
    [
        new(typeof(VirtualMachine), VirtualMachine.KindName, "virtualmachines", ["vm", "vms"],
        [
            ("Age", "date", ".metadata.creationTimestamp", null),
            ("Status", "string", ".status.printableStatus", "Human readable status"),
            ("Ready", "boolean", ".status.ready", null),
        ]),
        new(typeof(VirtualMachineInstance), VirtualMachineInstance.KindName, "virtualmachineinstances", ["vmi", "vmis"],
        [
            ("Age", "date", ".metadata.creationTimestamp", null),
            ("Phase", "string", ".status.phase", null),
            ("IP", "string", ".status.interfaces[0].ipAddress", null),
            ("NodeName", "string", ".status.nodeName", null),
        ]),
        new(typeof(VirtualMachineInstanceMigration), VirtualMachineInstanceMigration.KindName, "virtualmachineinstancemigrations", ["vmim", "vmims"],
        [
            ("Phase", "string", ".status.phase", null),
            ("VMI", "string", ".spec.vmiName", null),
            ("Age", "date", ".metadata.creationTimestamp", null),
        ]),
    ];

    /// <summary>File name (e.g. podvisor.io_virtualmachines.yaml) → YAML text, for every resource.</summary>
    public static IReadOnlyList<(string FileName, string Yaml)> GenerateAll()
    {
        var serializer = new SerializerBuilder().WithIndentedSequences().Build();
        return [.. Resources.Select(r => ($"{ApiGroup.Group}_{r.Plural}.yaml", Header + serializer.Serialize(Crd(r))))];
    }

    private static Dictionary<string, object?> Crd(Resource resource)
    {
        var builder = new SchemaBuilder();
        var body = builder.ForType(resource.Type);
        // The API server owns metadata's schema; apiVersion and kind are plain strings.
        var properties = (Dictionary<string, object?>)body["properties"]!;
        properties["apiVersion"] = new Dictionary<string, object?> { ["description"] = "APIVersion defines the versioned schema of this representation of an object.", ["type"] = "string" };
        properties["kind"] = new Dictionary<string, object?> { ["description"] = "Kind is a string value representing the REST resource this object represents.", ["type"] = "string" };
        properties["metadata"] = new Dictionary<string, object?> { ["type"] = "object" };
        body.Remove("x-kubernetes-preserve-unknown-fields");
        body["required"] = new List<object?> { "spec" };

        string singular = resource.Kind.ToLowerInvariant();
        return new()
        {
            ["apiVersion"] = "apiextensions.k8s.io/v1",
            ["kind"] = "CustomResourceDefinition",
            ["metadata"] = new Dictionary<string, object?> { ["name"] = $"{resource.Plural}.{ApiGroup.Group}" },
            ["spec"] = new Dictionary<string, object?>
            {
                ["group"] = ApiGroup.Group,
                ["names"] = new Dictionary<string, object?>
                {
                    ["categories"] = new List<object?> { "all" },
                    ["kind"] = resource.Kind,
                    ["listKind"] = resource.Kind + "List",
                    ["plural"] = resource.Plural,
                    ["shortNames"] = resource.ShortNames.Cast<object?>().ToList(),
                    ["singular"] = singular,
                },
                ["scope"] = "Namespaced",
                ["versions"] = new List<object?>
                {
                    new Dictionary<string, object?>
                    {
                        ["name"] = ApiGroup.Version,
                        ["served"] = true,
                        ["storage"] = true,
                        ["additionalPrinterColumns"] = resource.Columns.Select(c =>
                        {
                            var column = new Dictionary<string, object?> { ["name"] = c.Name, ["type"] = c.Type, ["jsonPath"] = c.Path };
                            if (c.Description is not null) column["description"] = c.Description;
                            return (object?)column;
                        }).ToList(),
                        ["schema"] = new Dictionary<string, object?> { ["openAPIV3Schema"] = body },
                        ["subresources"] = new Dictionary<string, object?> { ["status"] = new Dictionary<string, object?>() },
                    },
                },
            },
        };
    }
}
