using System.CommandLine;

namespace Podvisor.Cli.Cluster;

/// <summary>kubectl's connection flags (<c>--kubeconfig</c>, <c>--context</c>, <c>-n/--namespace</c>), honoured the same
/// way: the kubeconfig from the flag, else <c>KUBECONFIG</c>, else <c>~/.kube/config</c>; the namespace from the flag,
/// else the context's, else "default".</summary>
internal sealed class ClusterOptions
{
    public readonly Option<string?> Kubeconfig = new("--kubeconfig") { Description = "the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)" };
    public readonly Option<string?> Context = new("--context") { Description = "the kubeconfig context to use" };
    public readonly Option<string?> Namespace = new("--namespace", "-n") { Description = "the namespace (default: the context's, else \"default\")" };

    public void AddTo(Command command)
    {
        command.Options.Add(Kubeconfig);
        command.Options.Add(Context);
        command.Options.Add(Namespace);
    }

    /// <summary>The cluster the flags name; an error that says what to fix when there is none.</summary>
    public async Task<ClusterConnection> ConnectAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        string? file = parse.GetValue(Kubeconfig) ?? Environment.GetEnvironmentVariable("KUBECONFIG")?.Split(':').FirstOrDefault(f => f.Length > 0);
        file ??= Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        if (!File.Exists(file))
            throw new ClusterException($"no kubeconfig at {file}: give --kubeconfig FILE or set KUBECONFIG");
        var config = ClusterConfig.Load(file, parse.GetValue(Context));
        // An exec plugin may answer with a client certificate, which the TLS connection needs before the first request.
        if (config.Exec is { } exec && await exec.GetAsync(cancellationToken) is { ClientCertificatePem: { } certificate, ClientKeyPem: { } key })
            config.ClientCertificate = ClusterConfig.ClientCertificateFrom(certificate, key, $"kubeconfig {file}: the exec credential plugin's certificate");
        return new ClusterConnection(config, parse.GetValue(Namespace) ?? config.Namespace ?? "default");
    }
}
