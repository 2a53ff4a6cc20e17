using k8s;
using k8s.Autorest;
using k8s.Models;
using Podvisor.Api;

namespace Podvisor.Cli.Cluster;

/// <summary>
/// Where a VM's serial console is: its running instance's launcher pod, the pod's control port, and the instance's
/// control token (from the Secret the operator made). Each missing piece is an error saying what to do.
/// </summary>
internal sealed record VmConsoleTarget(string Namespace, string Pod, int Port, string Token)
{
    /// <summary>The console through the API server's pod proxy: no route to the pod network is needed, only RBAC
    /// for pods/proxy and the VMI's Secret.</summary>
    public string ProxyPath => $"/api/v1/namespaces/{Namespace}/pods/https:{Pod}:{Port}/proxy/v1/console";

    public static async Task<VmConsoleTarget> FindAsync(Kubernetes client, string ns, string vm, CancellationToken cancellationToken)
    {
        var vmi = await new VmResources(client, ns).GetVmiAsync(vm, cancellationToken)
            ?? throw new ClusterException($"VM {vm} is not running in namespace {ns} (no VirtualMachineInstance): start it with runStrategy Always, or check the name and -n");
        string phase = vmi.Status?.Phase ?? VmiPhases.Pending;
        if (phase is VmiPhases.Succeeded or VmiPhases.Failed)
            throw new ClusterException($"VM {vm} has stopped ({phase}{(vmi.Status?.Reason is { } why ? $": {why}" : "")}): there is no console to attach to");
        var pods = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"{LauncherLabels.CreatedBy}={vmi.Metadata.Uid}", cancellationToken: cancellationToken);
        var pod = pods.Items.FirstOrDefault(p => p.Metadata.DeletionTimestamp is null && p.Status?.Phase == "Running")
            ?? throw new ClusterException($"VM {vm} is {phase}: its launcher pod is not running yet (try again when `kubectl get vmi -n {ns} {vm}` shows Running)");
        int port = pod.Spec.Containers.Single(c => c.Name == LauncherLabels.ComputeContainer).Ports?
            .FirstOrDefault(p => p.Name == LauncherLabels.ControlPortName)?.ContainerPort
            ?? throw new ClusterException($"pod {pod.Metadata.Name} has no \"{LauncherLabels.ControlPortName}\" port: it was not made by this Podvisor operator");
        V1Secret secret;
        try
        {
            secret = await client.CoreV1.ReadNamespacedSecretAsync(LauncherLabels.ControlSecretName(vmi.Metadata.Uid), ns, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is System.Net.HttpStatusCode.Forbidden or System.Net.HttpStatusCode.NotFound)
        {
            throw new ClusterException($"cannot read the VM's control Secret {LauncherLabels.ControlSecretName(vmi.Metadata.Uid)} in {ns} " +
                $"({(int)e.Response.StatusCode}): the console needs get on that Secret and create on pods/proxy");
        }
        if (secret.Data?.TryGetValue(LauncherPaths.ControlTokenKey, out byte[]? token) != true || token is null)
            throw new ClusterException($"Secret {secret.Metadata.Name} holds no {LauncherPaths.ControlTokenKey}");
        return new VmConsoleTarget(ns, pod.Metadata.Name, port, System.Text.Encoding.UTF8.GetString(token).Trim());
    }
}
