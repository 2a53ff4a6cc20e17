using System.CommandLine;
using k8s;

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
    public ClusterConnection Connect(ParseResult parse)
    {
        CliJson.Register();
        string? file = parse.GetValue(Kubeconfig) ?? Environment.GetEnvironmentVariable("KUBECONFIG")?.Split(':').FirstOrDefault(f => f.Length > 0);
        file ??= Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        if (!File.Exists(file))
            throw new ClusterException($"no kubeconfig at {file}: give --kubeconfig FILE or set KUBECONFIG");
        KubernetesClientConfiguration config;
        try
        {
            config = Podvisor.Api.Kubeconfig.Load(file, parse.GetValue(Context));
        }
        catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or IOException or InvalidOperationException)
        {
            throw new ClusterException($"kubeconfig {file}: {e.Message}");
        }
        return new ClusterConnection(config, parse.GetValue(Namespace) ?? config.Namespace ?? "default");
    }
}
