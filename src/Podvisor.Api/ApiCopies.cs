using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Podvisor.Api;

/// <summary>Deep copies of API objects (controllers must never change what their caches hold).</summary>
public static class ApiCopies
{
    /// <summary>A copy sharing nothing with <paramref name="value"/>, through its source-generated JSON.</summary>
    public static T DeepCopy<T>(T value, JsonTypeInfo<T> type) => JsonSerializer.Deserialize(JsonSerializer.Serialize(value, type), type)!;
}
