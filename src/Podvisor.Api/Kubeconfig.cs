using System.Text.Json.Nodes;
using k8s;
using k8s.Exceptions;
using k8s.KubeConfigModels;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Podvisor.Api;

/// <summary>
/// Reads a kubeconfig file into the Kubernetes client's configuration, as
/// <see cref="KubernetesClientConfiguration.BuildConfigFromConfigFile(string, string, string, bool)"/> does, but through
/// YamlDotNet's parser instead of the client library's reflection-based YAML deserializer, which a NativeAOT
/// build (the CLI, the operator) cannot run. Clusters (server, certificate authority file or data, TLS server name,
/// insecure-skip-tls-verify), users (client certificate and key files or data, token, basic auth, impersonation,
/// exec plugins, auth providers) and contexts (cluster, user, namespace) are read; the client library then resolves
/// them (relative paths against the file's folder, exec plugins run) exactly as for a file it read itself.
/// </summary>
public static class Kubeconfig
{
    /// <summary>The configuration for <paramref name="context"/> (the file's current context when null).</summary>
    /// <exception cref="KubeConfigException">The file is not a kubeconfig, or the context, cluster or user is missing.</exception>
    public static KubernetesClientConfiguration Load(string path, string? context = null)
    {
        var config = Read(File.ReadAllText(path), Path.GetFullPath(path));
        return KubernetesClientConfiguration.BuildConfigFromConfigObject(config, context);
    }

    /// <summary>The kubeconfig in <paramref name="text"/>; <paramref name="fileName"/> anchors its relative paths.</summary>
    public static K8SConfiguration Read(string text, string fileName)
    {
        JsonObject root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            root = (stream.Documents.Count == 0 ? null : AsText(stream.Documents[0].RootNode)) as JsonObject
                ?? throw new KubeConfigException($"{fileName} is not a kubeconfig (no mapping at its top)");
        }
        catch (YamlException e)
        {
            throw new KubeConfigException($"{fileName}: line {e.Start.Line}, column {e.Start.Column}: {(e.InnerException ?? e).Message}");
        }
        return new K8SConfiguration
        {
            FileName = fileName,
            CurrentContext = Text(root["current-context"]),
            Clusters = Named(root, "clusters", "cluster", fileName, (name, c) => new Cluster
            {
                Name = name,
                ClusterEndpoint = new ClusterEndpoint
                {
                    Server = Text(c["server"]),
                    CertificateAuthority = Text(c["certificate-authority"]),
                    CertificateAuthorityData = Text(c["certificate-authority-data"]),
                    TlsServerName = Text(c["tls-server-name"]),
                    SkipTlsVerify = Text(c["insecure-skip-tls-verify"]) is "true" or "True" or "TRUE",
                },
            }),
            Users = Named(root, "users", "user", fileName, (name, u) => new User
            {
                Name = name,
                UserCredentials = new UserCredentials
                {
                    ClientCertificate = Text(u["client-certificate"]),
                    ClientCertificateData = Text(u["client-certificate-data"]),
                    ClientKey = Text(u["client-key"]),
                    ClientKeyData = Text(u["client-key-data"]),
                    Token = Text(u["token"]) ?? TokenFile(u, fileName),
                    UserName = Text(u["username"]),
                    Password = Text(u["password"]),
                    Impersonate = Text(u["as"]),
                    ImpersonateGroups = Strings(u["as-groups"]),
                    ExternalExecution = u["exec"] is JsonObject exec ? new ExternalExecution
                    {
                        ApiVersion = Text(exec["apiVersion"]),
                        Command = Text(exec["command"]),
                        Arguments = Strings(exec["args"]),
                        EnvironmentVariables = (exec["env"] as JsonArray)?.OfType<JsonObject>()
                            .Select(e => new Dictionary<string, string> { ["name"] = Text(e["name"]) ?? "", ["value"] = Text(e["value"]) ?? "" })
                            .ToList(),
                    } : null,
                    AuthProvider = u["auth-provider"] is JsonObject provider ? new AuthProvider
                    {
                        Name = Text(provider["name"]),
                        Config = (provider["config"] as JsonObject)?.ToDictionary(p => p.Key, p => Text(p.Value) ?? "") ?? new Dictionary<string, string>(),
                    } : null,
                },
            }),
            Contexts = Named(root, "contexts", "context", fileName, (name, c) => new Context
            {
                Name = name,
                ContextDetails = new ContextDetails { Cluster = Text(c["cluster"]), User = Text(c["user"]), Namespace = Text(c["namespace"]) },
            }),
        };
    }

    /// <summary>A list of {name, <paramref name="field"/>: {…}} entries, each made into a <typeparamref name="T"/>.</summary>
    private static List<T> Named<T>(JsonObject root, string list, string field, string fileName, Func<string, JsonObject, T> make)
    {
        var result = new List<T>();
        if (root[list] is null) return result;
        if (root[list] is not JsonArray items) throw new KubeConfigException($"{fileName}: '{list}' must be a list");
        foreach (var item in items)
        {
            string name = Text(item?["name"]) ?? throw new KubeConfigException($"{fileName}: an entry of '{list}' has no name");
            result.Add(make(name, item?[field] as JsonObject ?? []));
        }
        return result;
    }

    /// <summary>kubectl's tokenFile: the token is read from the file (relative to the kubeconfig's folder).</summary>
    private static string? TokenFile(JsonObject user, string fileName)
    {
        if (Text(user["tokenFile"]) is not { } file) return null;
        string path = Path.Combine(Path.GetDirectoryName(fileName) ?? ".", file);
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException e)
        {
            throw new KubeConfigException($"{fileName}: tokenFile {path}: {e.Message}");
        }
    }

    /// <summary>
    /// The YAML as JSON with every scalar kept as its text (unlike manifests, a kubeconfig's values are strings: a token
    /// of digits with a leading zero must stay as written).
    /// </summary>
    private static JsonNode? AsText(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(p =>
            KeyValuePair.Create(p.Key is YamlScalarNode { Value: { } key } ? key
                : throw new YamlException(p.Key.Start, p.Key.End, "mapping keys must be plain strings"), AsText(p.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(AsText)]),
        YamlScalarNode { Style: ScalarStyle.Plain, Value: "" or "~" or "null" } => null,
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => throw new YamlException(node.Start, node.End, "aliases are not supported in a kubeconfig"),
    };

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue(out string? text) ? text : null;

    private static List<string> Strings(JsonNode? node) =>
        node is JsonArray array ? [.. array.Select(Text).OfType<string>()] : [];
}
