namespace Podvisor.Operator;

/// <summary>How the operator finds the cluster and names itself (command line or environment).</summary>
public sealed record OperatorOptions
{
    /// <summary>A kubeconfig file; none: the in-cluster service account (as a Deployment runs it).</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>Where the leader-election Lease lives (the operator's own namespace).</summary>
    public string LeaseNamespace { get; init; } = "podvisor-system";

    public string LeaseName { get; init; } = "podvisor-operator";

    /// <summary>This replica's name in the Lease (the pod's name in a cluster).</summary>
    public string Identity { get; init; } = $"{Environment.MachineName}-{Guid.NewGuid():N}"[..24];

    public int Workers { get; init; } = 4;

    /// <summary>--kubeconfig PATH --lease-namespace NS --identity NAME, else KUBECONFIG, POD_NAMESPACE, POD_NAME.</summary>
    public static OperatorOptions Parse(string[] args)
    {
        string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var defaults = new OperatorOptions();
        return new OperatorOptions
        {
            Kubeconfig = Arg("--kubeconfig") ?? Environment.GetEnvironmentVariable("KUBECONFIG"),
            LeaseNamespace = Arg("--lease-namespace") ?? Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? defaults.LeaseNamespace,
            Identity = Arg("--identity") ?? Environment.GetEnvironmentVariable("POD_NAME") ?? defaults.Identity,
        };
    }
}
