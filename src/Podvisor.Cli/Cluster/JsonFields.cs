using System.Text.Json;

namespace Podvisor.Cli.Cluster;

/// <summary>Reading the few fields the CLI needs out of the API server's JSON (pods, events, Secrets, the version)
/// without a type for each: a missing or null field along the path is null, never an exception.</summary>
internal static class JsonFields
{
    /// <summary>The value at the path of property names, or null where one is missing or null.</summary>
    public static JsonElement? Field(JsonElement element, params string[] path)
    {
        foreach (string name in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element) || element.ValueKind == JsonValueKind.Null) return null;
        }
        return element;
    }

    /// <summary>The string at the path, or null.</summary>
    public static string? Text(JsonElement element, params string[] path) =>
        Field(element, path) is { ValueKind: JsonValueKind.String } text ? text.GetString() : null;

    /// <summary>The items of the array at the path; none when there is no array.</summary>
    public static IEnumerable<JsonElement> Array(JsonElement element, params string[] path) =>
        Field(element, path) is { ValueKind: JsonValueKind.Array } array ? array.EnumerateArray() : [];
}
