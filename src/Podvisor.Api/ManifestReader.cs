using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Podvisor.Api;

/// <summary>
/// Reads Podvisor resources from YAML or JSON manifests (one or more documents), strictly: a field this
/// version does not know is an error (a typo would otherwise be silently ignored), and every error names
/// the file, the line and the field.
/// </summary>
public static class ManifestReader
{
    private static readonly JsonSerializerOptions Strict = new(ApiJsonContext.Default.Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    private static readonly ApiJsonContext StrictContext = new(Strict);

    /// <summary>Every document in <paramref name="text"/> as (kind, apiVersion, JSON, lines by JSON path).</summary>
    public static IReadOnlyList<ManifestDocument> ReadDocuments(string text, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new ManifestException(source, [$"line {e.Start.Line}, column {e.Start.Column}: {(e.InnerException ?? e).Message}"]);
        }
        var documents = new List<ManifestDocument>();
        foreach (var document in stream.Documents)
        {
            var lines = new Dictionary<string, int>();
            JsonNode? json;
            try
            {
                json = YamlJson.Convert(document.RootNode, lines);
            }
            catch (YamlException e)
            {
                throw new ManifestException(source, [$"line {e.Start.Line}, column {e.Start.Column}: {e.Message}"]);
            }
            if (json is null) continue;                      // an empty document (e.g. a trailing "---")
            if (json is not JsonObject obj)
                throw new ManifestException(source, [$"line {document.RootNode.Start.Line}: a manifest document must be a mapping with apiVersion and kind"]);
            string? kind = (obj["kind"] as JsonValue)?.TryGetValue(out string? k) == true ? k : null;
            string? apiVersion = (obj["apiVersion"] as JsonValue)?.TryGetValue(out string? v) == true ? v : null;
            documents.Add(new ManifestDocument(kind, apiVersion, obj, lines, (int)document.RootNode.Start.Line));
        }
        return documents;
    }

    /// <summary>The one <typeparamref name="T"/> in the manifest file at <paramref name="path"/>.</summary>
    public static T ReadSingle<T>(string path) where T : class => ReadSingle<T>(ReadText(path), path);

    /// <summary>A manifest file's text; a missing or unreadable file is a <see cref="ManifestException"/>.</summary>
    public static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            throw new ManifestException(path, ["no such file"]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ManifestException(path, [e.Message]);
        }
    }

    public static T ReadSingle<T>(string text, string source) where T : class => ReadSingle<T>(ReadDocuments(text, source), source);

    /// <summary>The one <typeparamref name="T"/> among documents already read (so a caller that looked at the
    /// kinds first does not parse the YAML twice).</summary>
    public static T ReadSingle<T>(IReadOnlyList<ManifestDocument> documents, string source) where T : class
    {
        var (kind, typeInfo) = TypeOf<T>();
        if (documents.Count == 0) throw new ManifestException(source, ["the manifest is empty"]);
        // Other kinds beside it (the claim a VM uses, a Secret) are kubectl's business, whatever their apiVersion.
        var matching = documents.Where(d => d.Kind == kind).ToList();
        foreach (var document in matching) CheckApiVersion(document, source);
        if (matching.Count == 0)
            throw new ManifestException(source, [$"no {kind} in the manifest (found: {string.Join(", ", documents.Select(d => d.Kind ?? "a document without kind"))})"]);
        if (matching.Count > 1)
            throw new ManifestException(source, [$"{matching.Count} {kind} documents (lines {string.Join(", ", matching.Select(d => d.Line))}); give one"]);
        return Deserialize(matching[0], typeInfo, source);
    }

    private static void CheckApiVersion(ManifestDocument document, string source)
    {
        if (document.ApiVersion == ApiGroup.ApiVersion) return;
        string problem = document.ApiVersion switch
        {
            null => "apiVersion is missing",
            ApiGroup.KubeVirtApiVersion => $"apiVersion is {ApiGroup.KubeVirtApiVersion}: change it to {ApiGroup.ApiVersion} (the fields are KubeVirt's)",
            _ => $"apiVersion {document.ApiVersion} is not {ApiGroup.ApiVersion}",
        };
        throw new ManifestException(source, [$"line {document.Line}: {problem}"]);
    }

    private static T Deserialize<T>(ManifestDocument document, JsonTypeInfo<T> typeInfo, string source)
    {
        try
        {
            return document.Json.Deserialize(typeInfo)
                ?? throw new ManifestException(source, [$"line {document.Line}: empty {typeof(T).Name}"]);
        }
        catch (JsonException e)
        {
            throw new ManifestException(source, [Describe(e, document)]);
        }
    }

    /// <summary>"line 14: spec.template.spec.domain.cpu.cores: expected an integer" from what System.Text.Json says.</summary>
    private static string Describe(JsonException e, ManifestDocument document)
    {
        string path = e.Path ?? "$";
        string message = e.Message;
        string field = path.TrimStart('$').TrimStart('.');
        const string unmapped = "The JSON property '";
        if (message.StartsWith(unmapped, StringComparison.Ordinal))
        {
            // The path already ends with the unknown property.
            return $"{LineOf(document, path)}{field}: unknown field";
        }
        string expected =
            message.Contains("System.Int", StringComparison.Ordinal) ? "an integer" :
            message.Contains("System.Boolean", StringComparison.Ordinal) ? "true or false" :
            message.Contains("System.String", StringComparison.Ordinal) ? "a string" :
            message.Contains("System.Double", StringComparison.Ordinal) ? "a number" :
            message.Contains("System.DateTime", StringComparison.Ordinal) ? "a timestamp (RFC 3339)" :
            message.Contains("List`1", StringComparison.Ordinal) ? "a list" :
            "a mapping";
        return $"{LineOf(document, path)}{(field.Length == 0 ? "the document" : field)}: expected {expected}";
    }

    private static string LineOf(ManifestDocument document, string path) =>
        document.Lines.TryGetValue(path, out int line) ? $"line {line}: " : $"line {document.Line}: ";

    private static (string Kind, JsonTypeInfo<T> TypeInfo) TypeOf<T>()
    {
        object typeInfo;
        string kind;
        if (typeof(T) == typeof(VirtualMachine)) (kind, typeInfo) = (VirtualMachine.KindName, StrictContext.VirtualMachine);
        else if (typeof(T) == typeof(VirtualMachineInstance)) (kind, typeInfo) = (VirtualMachineInstance.KindName, StrictContext.VirtualMachineInstance);
        else if (typeof(T) == typeof(VirtualMachineInstanceMigration))
            (kind, typeInfo) = (VirtualMachineInstanceMigration.KindName, StrictContext.VirtualMachineInstanceMigration);
        else throw new ArgumentException($"{typeof(T).Name} is not a Podvisor resource");
        return (kind, (JsonTypeInfo<T>)typeInfo);
    }
}
