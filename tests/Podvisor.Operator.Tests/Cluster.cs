using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Operator.Launcher;
using Podvisor.Testing;

namespace Podvisor.Operator.Tests;

/// <summary>What the operator tests do to and read from the real API server.</summary>
internal sealed class Cluster(IKubernetes client)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public IKubernetes Client => client;

    public async Task<string> Namespace(string name)
    {
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = name } }, cancellationToken: Ct);
        return name;
    }

    /// <summary>A small instance spec (128 MiB, kernel from the node); <paramref name="customize"/> changes it.</summary>
    public static VirtualMachineInstanceSpec InstanceSpec(Action<VirtualMachineInstanceSpec>? customize = null)
    {
        var spec = new VirtualMachineInstanceSpec
        {
            Domain = new() { Memory = new() { Guest = "128Mi" }, Firmware = new() { KernelBoot = new() { HostPath = new() { KernelPath = "/k" } } } },
        };
        customize?.Invoke(spec);
        return spec;
    }

    public Task CreateVm(string ns, string name, string strategy, Action<VirtualMachineInstanceSpec>? customize = null) =>
        client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToElement(new VirtualMachine
        {
            Metadata = new() { Name = name, NamespaceProperty = ns },
            Spec = new()
            {
                RunStrategy = strategy,
                Template = new() { Metadata = new() { Labels = new Dictionary<string, string> { ["app"] = "web" } }, Spec = InstanceSpec(customize) },
            },
        }, ApiJsonContext.Default.VirtualMachine), ApiGroup.Group, ApiGroup.Version, ns, "virtualmachines", cancellationToken: Ct);

    public Task CreateVmi(string ns, string name, Action<VirtualMachineInstanceSpec>? customize = null) =>
        client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToElement(new VirtualMachineInstance
        {
            Metadata = new() { Name = name, NamespaceProperty = ns },
            Spec = InstanceSpec(customize),
        }, ApiJsonContext.Default.VirtualMachineInstance), ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstances", cancellationToken: Ct);

    public Task<VirtualMachine?> Vm(string ns, string name) => Get(ns, "virtualmachines", name, ApiJsonContext.Default.VirtualMachine);

    public Task<VirtualMachineInstance?> Vmi(string ns, string name) => Get(ns, "virtualmachineinstances", name, ApiJsonContext.Default.VirtualMachineInstance);

    /// <summary>The launcher pods in <paramref name="ns"/> (of one VMI when <paramref name="vmi"/> is given).</summary>
    public async Task<IList<V1Pod>> Pods(string ns, string? vmi = null) =>
        (await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: LauncherLabels.Selector + (vmi is null ? "" : $",{LauncherLabels.Vmi}={vmi}"),
            cancellationToken: Ct)).Items;

    /// <summary>Scheduler and kubelets of two nodes, "NS-a" and "NS-b", for the launcher pods of <paramref name="ns"/>.</summary>
    public Task<FakeNodes> TwoNodes(string ns) =>
        FakeNodes.StartAsync(client, LauncherLabels.Selector, [($"{ns}-a", null), ($"{ns}-b", null)], ns, cancellationToken: Ct);

    /// <summary>As a kubelet reports a container that exited, with the launcher's termination message.</summary>
    public async Task EndPod(V1Pod pod, int exitCode, string message)
    {
        var current = await client.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: Ct);
        var status = FakeNodes.Status(current, current.Status.PodIP, ready: false);
        status.Phase = exitCode == 0 ? "Succeeded" : "Failed";
        status.ContainerStatuses[0].State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = exitCode, Message = message, FinishedAt = DateTime.UtcNow } };
        current.Status = status;
        await client.CoreV1.ReplaceNamespacedPodStatusAsync(current, current.Metadata.Name, current.Metadata.NamespaceProperty, cancellationToken: Ct);
    }

    /// <summary>As a kubelet reports a running pod's readiness probe passing (a target launcher's: the VM runs there).</summary>
    public async Task SetReady(V1Pod pod)
    {
        var current = await client.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: Ct);
        current.Status = FakeNodes.Status(current, current.Status.PodIP, ready: true);
        await client.CoreV1.ReplaceNamespacedPodStatusAsync(current, current.Metadata.Name, current.Metadata.NamespaceProperty, cancellationToken: Ct);
    }

    public async Task<int> CountVmis(string ns)
    {
        var list = (JsonElement)await client.CustomObjects.ListNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstances", cancellationToken: Ct);
        return list.GetProperty("items").GetArrayLength();
    }

    public Task PatchVm(string ns, string name, string json, bool status = false) => Patch(ns, "virtualmachines", name, json, status);

    public Task PatchVmi(string ns, string name, string json, bool status = false) => Patch(ns, "virtualmachineinstances", name, json, status);

    public Task Delete(string ns, string plural, string name) =>
        client.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, plural, name, cancellationToken: Ct);

    public static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> condition, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var value = await read();
            if (condition(value)) return value;
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}; last: {Describe(value)}");
            await Task.Delay(50, Ct);
        }
    }

    private static string Describe<T>(T value) => value switch
    {
        VirtualMachineInstance vmi => JsonSerializer.Serialize(vmi, ApiJsonContext.Default.VirtualMachineInstance),
        VirtualMachine vm => JsonSerializer.Serialize(vm, ApiJsonContext.Default.VirtualMachine),
        _ => KubernetesJson.Serialize(value),
    };

    private Task Patch(string ns, string plural, string name, string json, bool status) => status
        ? client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch(json, V1Patch.PatchType.MergePatch), ApiGroup.Group, ApiGroup.Version, ns, plural, name, cancellationToken: Ct)
        : client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(json, V1Patch.PatchType.MergePatch), ApiGroup.Group, ApiGroup.Version, ns, plural, name, cancellationToken: Ct);

    private async Task<T?> Get<T>(string ns, string plural, string name, JsonTypeInfo<T> type) where T : class
    {
        try
        {
            var element = (JsonElement)await client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, plural, name, Ct);
            return element.Deserialize(type);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}
