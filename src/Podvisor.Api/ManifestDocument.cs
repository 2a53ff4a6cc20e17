using System.Text.Json.Nodes;

namespace Podvisor.Api;

/// <summary>One document of a manifest: its kind and apiVersion, its content as JSON, and where each value was.</summary>
public sealed record ManifestDocument(string? Kind, string? ApiVersion, JsonObject Json, IReadOnlyDictionary<string, int> Lines, int Line);
