using System.Net;
using System.Text.Json;
using Podvisor.Api;
using static Podvisor.Cli.Cluster.JsonFields;

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

    public static async Task<VmConsoleTarget> FindAsync(ApiServerClient api, string ns, string vm, CancellationToken cancellationToken)
    {
        var vmi = await new VmResources(api, ns).GetVmiAsync(vm, cancellationToken)
            ?? throw new ClusterException($"VM {vm} is not running in namespace {ns} (no VirtualMachineInstance): start it with runStrategy Always, or check the name and -n");
        string phase = vmi.Status?.Phase ?? VmiPhases.Pending;
        if (phase is VmiPhases.Succeeded or VmiPhases.Failed)
            throw new ClusterException($"VM {vm} has stopped ({phase}{(vmi.Status?.Reason is { } why ? $": {why}" : "")}): there is no console to attach to");
        string selector = Uri.EscapeDataString($"{LauncherLabels.CreatedBy}={vmi.Metadata.Uid}");
        var pods = await api.GetAsync($"/api/v1/namespaces/{ns}/pods?labelSelector={selector}", cancellationToken);
        var pod = Array(pods, "items").FirstOrDefault(p => Field(p, "metadata", "deletionTimestamp") is null && Text(p, "status", "phase") == "Running");
        if (pod.ValueKind != JsonValueKind.Object)
            throw new ClusterException($"VM {vm} is {phase}: its launcher pod is not running yet (try again when `kubectl get vmi -n {ns} {vm}` shows Running)");
        string podName = Text(pod, "metadata", "name") ?? "";
        var compute = Array(pod, "spec", "containers").FirstOrDefault(c => Text(c, "name") == LauncherLabels.ComputeContainer);
        var port = compute.ValueKind == JsonValueKind.Object
            ? Array(compute, "ports").FirstOrDefault(p => Text(p, "name") == LauncherLabels.ControlPortName)
            : default;
        if (port.ValueKind != JsonValueKind.Object || Field(port, "containerPort") is not { ValueKind: JsonValueKind.Number } containerPort)
            throw new ClusterException($"pod {podName} has no \"{LauncherLabels.ControlPortName}\" port: it was not made by this Podvisor operator");
        string secretName = LauncherLabels.ControlSecretName(vmi.Metadata.Uid);
        JsonElement secret;
        try
        {
            secret = await api.GetAsync($"/api/v1/namespaces/{ns}/secrets/{secretName}", cancellationToken);
        }
        catch (ApiServerException e) when (e.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
        {
            throw new ClusterException($"cannot read the VM's control Secret {secretName} in {ns} " +
                $"({(int)e.StatusCode}): the console needs get on that Secret and create on pods/proxy");
        }
        if (Field(secret, "data", LauncherPaths.ControlTokenKey) is not { ValueKind: JsonValueKind.String } token)
            throw new ClusterException($"Secret {secretName} holds no {LauncherPaths.ControlTokenKey}");
        return new VmConsoleTarget(ns, podName, containerPort.GetInt32(), System.Text.Encoding.UTF8.GetString(token.GetBytesFromBase64()).Trim());
    }
}
