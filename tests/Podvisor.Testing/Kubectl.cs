namespace Podvisor.Testing;

/// <summary>kubectl, as users run it against the test's API server (<see cref="KubeTool"/>: PODVISOR_KUBECTL).</summary>
public static class Kubectl
{
    public static readonly KubeTool Tool = new("kubectl", "PODVISOR_KUBECTL");

    public static string Path => Tool.Path;

    public static Task<string> RunAsync(string kubeconfig, IEnumerable<string> args, CancellationToken cancellationToken) =>
        Tool.RunAsync(kubeconfig, args, cancellationToken);
}
