using System.Security.Cryptography.X509Certificates;
using k8s.KubeConfigModels;

namespace Podvisor.Cli.Cluster;

/// <summary>
/// One kubeconfig context resolved as kubectl resolves it: the API server's address, the certificate authority to
/// check it against (or none checked), the user's credentials (client certificate and key, bearer token, basic auth,
/// an exec credential plugin, impersonation) and the context's namespace. Relative paths are relative to the
/// kubeconfig's folder. The file is read by <see cref="Podvisor.Api.Kubeconfig"/>; the CLI then talks to the API server
/// itself (<see cref="ApiServerClient"/>) rather than through the Kubernetes client library, whose JSON metadata for
/// every Kubernetes type would more than double the native binary and the start-up of <c>podvisor run</c>.
/// </summary>
internal sealed class ClusterConfig
{
    public required Uri Server { get; init; }

    /// <summary>The certificate authorities the server's certificate must chain to; empty: the system's.</summary>
    public X509Certificate2Collection Authorities { get; init; } = [];

    public bool SkipTlsVerify { get; init; }

    /// <summary>The name the server's certificate must carry when it is not the server's host name.</summary>
    public string? TlsServerName { get; init; }

    public X509Certificate2? ClientCertificate { get; set; }

    public string? Token { get; init; }

    public (string User, string Password)? Basic { get; init; }

    public ExecCredentialPlugin? Exec { get; init; }

    public string? Impersonate { get; init; }

    public IReadOnlyList<string> ImpersonateGroups { get; init; } = [];

    public string? Namespace { get; init; }

    /// <summary>The context <paramref name="context"/> (else the file's current one) of the kubeconfig at <paramref name="path"/>.</summary>
    /// <exception cref="ClusterException">The file cannot be read, or the context, its cluster or user is missing or unusable.</exception>
    public static ClusterConfig Load(string path, string? context)
    {
        K8SConfiguration file;
        try
        {
            file = Podvisor.Api.Kubeconfig.Read(File.ReadAllText(path), Path.GetFullPath(path));
        }
        catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or IOException or UnauthorizedAccessException)
        {
            throw new ClusterException($"kubeconfig {path}: {e.Message}");
        }
        return Resolve(file, context);
    }

    public static ClusterConfig Resolve(K8SConfiguration file, string? contextName)
    {
        string where = $"kubeconfig {file.FileName}";
        string folder = Path.GetDirectoryName(file.FileName) ?? ".";
        string name = contextName ?? file.CurrentContext
            ?? throw new ClusterException($"{where} has no current-context: give --context NAME");
        var context = file.Contexts?.FirstOrDefault(c => c.Name == name)?.ContextDetails
            ?? throw new ClusterException($"{where} has no context {name}");
        var cluster = file.Clusters?.FirstOrDefault(c => c.Name == context.Cluster)?.ClusterEndpoint
            ?? throw new ClusterException($"{where}: context {name} names cluster '{context.Cluster}', which it does not have");
        if (!Uri.TryCreate(cluster.Server, UriKind.Absolute, out var server) || server.Scheme is not ("https" or "http"))
            throw new ClusterException($"{where}: cluster {context.Cluster} has no server URL (https://HOST:PORT)");
        UserCredentials user = new();
        if (context.User is { Length: > 0 } userName)
            user = file.Users?.FirstOrDefault(u => u.Name == userName)?.UserCredentials
                ?? throw new ClusterException($"{where}: context {name} names user '{userName}', which it does not have");
        if (user.AuthProvider is { } provider)
            throw new ClusterException($"{where}: user {context.User} uses the auth provider '{provider.Name}', which podvisor does not run " +
                "(kubectl dropped them too): use an exec credential plugin (users[].user.exec) instead");

        string Local(string file) => Path.IsPathRooted(file) ? file : Path.Combine(folder, file);
        string? Pem(string? data, string? fileName, string what)
        {
            try
            {
                return data is { Length: > 0 } ? System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(data))
                    : fileName is { Length: > 0 } ? File.ReadAllText(Local(fileName)) : null;
            }
            catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
            {
                throw new ClusterException($"{where}: the {what}: {e.Message}");
            }
        }

        var authorities = new X509Certificate2Collection();
        if (Pem(cluster.CertificateAuthorityData, cluster.CertificateAuthority, $"certificate authority of cluster {context.Cluster}") is { } ca)
        {
            try
            {
                authorities.ImportFromPem(ca);
            }
            catch (System.Security.Cryptography.CryptographicException e)
            {
                throw new ClusterException($"{where}: the certificate authority of cluster {context.Cluster} is not a PEM certificate: {e.Message}");
            }
        }
        X509Certificate2? certificate = null;
        string? certificatePem = Pem(user.ClientCertificateData, user.ClientCertificate, $"client certificate of user {context.User}");
        string? keyPem = Pem(user.ClientKeyData, user.ClientKey, $"client key of user {context.User}");
        if (certificatePem is not null && keyPem is not null) certificate = ClientCertificateFrom(certificatePem, keyPem, $"{where}: user {context.User}");
        else if (certificatePem is not null || keyPem is not null)
            throw new ClusterException($"{where}: user {context.User} has a client certificate or key without the other");

        ExecCredentialPlugin? exec = null;
        if (user.ExternalExecution is { Command: { Length: > 0 } command } plugin)
        {
            // client-go: a command with a path separator is relative to the kubeconfig; a bare name is looked up on PATH.
            string program = command.Contains('/') ? Local(command) : command;
            exec = new ExecCredentialPlugin(program, [.. plugin.Arguments ?? []],
                [.. (plugin.EnvironmentVariables ?? []).Select(e => KeyValuePair.Create(e.GetValueOrDefault("name") ?? "", e.GetValueOrDefault("value") ?? ""))
                    .Where(e => e.Key.Length > 0)],
                plugin.ApiVersion ?? "client.authentication.k8s.io/v1");
        }
        return new ClusterConfig
        {
            Server = server,
            Authorities = authorities,
            SkipTlsVerify = cluster.SkipTlsVerify,
            TlsServerName = cluster.TlsServerName,
            ClientCertificate = certificate,
            Token = user.Token is { Length: > 0 } token ? token : null,
            Basic = user.UserName is { Length: > 0 } basicUser ? (basicUser, user.Password ?? "") : null,
            Exec = exec,
            Impersonate = user.Impersonate,
            ImpersonateGroups = [.. user.ImpersonateGroups ?? []],
            Namespace = context.Namespace,
        };
    }

    /// <summary>A client certificate with its private key, for TLS client authentication.</summary>
    public static X509Certificate2 ClientCertificateFrom(string certificatePem, string keyPem, string what)
    {
        try
        {
            return X509Certificate2.CreateFromPem(certificatePem, keyPem);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new ClusterException($"{what}: the client certificate and key do not make a usable pair: {e.Message}");
        }
    }
}
