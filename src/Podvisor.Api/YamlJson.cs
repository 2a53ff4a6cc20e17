using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Podvisor.Api;

/// <summary>
/// Turns a YAML document into JSON (what the Kubernetes API does with YAML too), typing plain scalars by
/// the YAML 1.2 core schema (null, true/false, integers, floats; quoted scalars stay strings), and records
/// the line of every value under its JSON path ("$.spec.template.spec.volumes[0].name") for error messages.
/// </summary>
public static class YamlJson
{
    public static JsonNode? Convert(YamlNode node, IDictionary<string, int> lines, string path = "$")
    {
        lines[path] = (int)node.Start.Line;
        switch (node)
        {
            case YamlMappingNode mapping:
                var obj = new JsonObject();
                foreach (var (key, value) in mapping.Children)
                {
                    if (key is not YamlScalarNode { Value: { } name })
                        throw new YamlException(key.Start, key.End, "mapping keys must be plain strings");
                    if (obj.ContainsKey(name))
                        throw new YamlException(key.Start, key.End, $"duplicate key '{name}'");
                    obj[name] = Convert(value, lines, $"{path}.{name}");
                }
                return obj;
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                int i = 0;
                foreach (var item in sequence.Children) array.Add(Convert(item, lines, $"{path}[{i++}]"));
                return array;
            case YamlScalarNode scalar:
                return Scalar(scalar);
            default:
                throw new YamlException(node.Start, node.End, "aliases are not supported in manifests");
        }
    }

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        string value = scalar.Value ?? "";
        if (scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any)) return JsonValue.Create(value);
        switch (value)
        {
            case "" or "~" or "null" or "Null" or "NULL": return null;
            case "true" or "True" or "TRUE": return JsonValue.Create(true);
            case "false" or "False" or "FALSE": return JsonValue.Create(false);
        }
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long integer))
            return JsonValue.Create(integer);
        if (value.StartsWith("0x", StringComparison.Ordinal)
            && long.TryParse(value.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long hex))
            return JsonValue.Create(hex);
        if (value.Length > 0 && (char.IsDigit(value[0]) || value[0] is '-' or '+' or '.')
            && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double real)
            && !double.IsInfinity(real) && !double.IsNaN(real))
            return JsonValue.Create(real);
        return JsonValue.Create(value);
    }
}
