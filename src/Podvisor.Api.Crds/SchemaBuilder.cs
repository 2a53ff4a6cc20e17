using System.Collections;
using System.Reflection;
using System.Text.Json.Serialization;
using k8s.Models;
using Podvisor.Api.Schema;

namespace Podvisor.Api.Crds;

/// <summary>
/// openAPIV3Schema (structural, as apiextensions.k8s.io/v1 requires) for a C# type, by reflection over its
/// JSON properties: CLR types map to JSON types, the schema attributes add enums, minimums, patterns,
/// quantities and required fields, and the XML docs become descriptions.
/// </summary>
internal sealed class SchemaBuilder
{
    // Kubernetes' quantity syntax (k8s.io/apimachinery resource.Quantity).
    public const string QuantityPattern = @"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

    private readonly Dictionary<Assembly, XmlDocs?> _docs = [];

    public Dictionary<string, object?> ForType(Type type) => ForType(type, []);

    private Dictionary<string, object?> ForType(Type type, HashSet<Type> path)
    {
        var schema = new Dictionary<string, object?>();
        if (Docs(type)?.For(type) is { Length: > 0 } doc) schema["description"] = doc;
        if (type == typeof(V1ObjectMeta) || !path.Add(type))
        {
            // Nested object metadata is the API server's business; a recursive type would never end.
            schema["type"] = "object";
            schema["x-kubernetes-preserve-unknown-fields"] = true;
            return schema;
        }
        schema["type"] = "object";
        var properties = new Dictionary<string, object?>();
        var required = new List<object?>();
        foreach (var property in JsonProperties(type))
        {
            string name = property.GetCustomAttribute<JsonPropertyNameAttribute>()!.Name;
            properties[name] = ForProperty(property, path);
            if (property.GetCustomAttribute<SchemaRequiredAttribute>() is not null) required.Add(name);
        }
        if (properties.Count > 0) schema["properties"] = properties;
        if (required.Count > 0) schema["required"] = required;
        path.Remove(type);
        return schema;
    }

    public static IEnumerable<PropertyInfo> JsonProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<JsonPropertyNameAttribute>() is not null && p.GetCustomAttribute<JsonIgnoreAttribute>() is null)
            .OrderBy(p => p.MetadataToken);

    private Dictionary<string, object?> ForProperty(PropertyInfo property, HashSet<Type> path)
    {
        var schema = ForValue(property.PropertyType, path, property.GetCustomAttribute<SchemaQuantityAttribute>() is not null);
        if (Docs(property.DeclaringType!)?.For(property) is { Length: > 0 } doc) schema["description"] = doc;
        if (property.GetCustomAttribute<SchemaEnumAttribute>() is { } fromClass)
            schema["enum"] = fromClass.ValuesFrom.GetFields(BindingFlags.Public | BindingFlags.Static)
                .Where(f => f.IsLiteral && f.FieldType == typeof(string)).Select(f => (object?)f.GetRawConstantValue()).ToList();
        if (property.GetCustomAttribute<SchemaValuesAttribute>() is { } values) schema["enum"] = values.Values.Cast<object?>().ToList();
        if (property.GetCustomAttribute<SchemaMinimumAttribute>() is { } minimum) schema["minimum"] = minimum.Minimum;
        if (property.GetCustomAttribute<SchemaPatternAttribute>() is { } pattern) schema["pattern"] = pattern.Pattern;
        return Ordered(schema);
    }

    private Dictionary<string, object?> ForValue(Type type, HashSet<Type> path, bool quantity)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
            return quantity ? Quantity() : new() { ["type"] = "string" };
        if (type == typeof(bool)) return new() { ["type"] = "boolean" };
        if (type == typeof(int)) return new() { ["type"] = "integer", ["format"] = "int32" };
        if (type == typeof(long)) return new() { ["type"] = "integer", ["format"] = "int64" };
        if (type == typeof(double)) return new() { ["type"] = "number", ["format"] = "double" };
        if (type == typeof(DateTime) || type == typeof(DateTimeOffset)) return new() { ["type"] = "string", ["format"] = "date-time" };
        if (type == typeof(ResourceQuantity) || type == typeof(IntOrString)) return Quantity();
        if (DictionaryValueType(type) is { } valueType)
            return new() { ["type"] = "object", ["additionalProperties"] = ForValue(valueType, path, quantity) };
        if (ListItemType(type) is { } itemType)
            return new() { ["type"] = "array", ["items"] = ForValue(itemType, path, quantity) };
        if (type.IsClass) return ForType(type, path);
        throw new NotSupportedException($"no schema mapping for {type}");
    }

    private static Dictionary<string, object?> Quantity() => new()
    {
        ["x-kubernetes-int-or-string"] = true,
        ["anyOf"] = new List<object?> { new Dictionary<string, object?> { ["type"] = "integer" }, new Dictionary<string, object?> { ["type"] = "string" } },
        ["pattern"] = QuantityPattern,
    };

    private static Type? DictionaryValueType(Type type) =>
        type.IsGenericType && type.GetGenericArguments() is [var key, var value] && key == typeof(string)
        && typeof(IDictionary).IsAssignableFrom(type.IsInterface ? typeof(Dictionary<,>).MakeGenericType(key, value) : type)
            ? value
            : null;

    private static Type? ListItemType(Type type) =>
        type.IsGenericType && type.GetGenericArguments() is [var item]
        && typeof(IEnumerable).IsAssignableFrom(type) && type != typeof(string)
            ? item
            : null;

    /// <summary>A stable key order: description first, then type facts, then the rest as built.</summary>
    private static Dictionary<string, object?> Ordered(Dictionary<string, object?> schema)
    {
        string[] first = ["description", "type", "format"];
        var ordered = new Dictionary<string, object?>();
        foreach (string key in first) if (schema.TryGetValue(key, out var v)) ordered[key] = v;
        foreach (var (key, value) in schema) if (!first.Contains(key)) ordered[key] = value;
        return ordered;
    }

    private XmlDocs? Docs(Type type)
    {
        var assembly = type.Assembly;
        if (!_docs.TryGetValue(assembly, out var docs))
            _docs[assembly] = docs = File.Exists(Path.ChangeExtension(assembly.Location, ".xml")) ? new XmlDocs(assembly) : null;
        return docs;
    }
}
