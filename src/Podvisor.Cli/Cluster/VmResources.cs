using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Podvisor.Api;

namespace Podvisor.Cli.Cluster;

/// <summary>Podvisor's resources in one namespace, typed, through the Kubernetes client (source-generated JSON: the
/// native CLI has no reflection).</summary>
internal sealed class VmResources(Kubernetes client, string ns)
{
    public const string VmPlural = "virtualmachines", VmiPlural = "virtualmachineinstances", MigrationPlural = "virtualmachineinstancemigrations";

    public string Namespace => ns;

    public Task<VirtualMachine?> GetVmAsync(string name, CancellationToken cancellationToken) =>
        GetAsync(VmPlural, name, ApiJsonContext.Default.VirtualMachine, cancellationToken);

    public Task<VirtualMachineInstance?> GetVmiAsync(string name, CancellationToken cancellationToken) =>
        GetAsync(VmiPlural, name, ApiJsonContext.Default.VirtualMachineInstance, cancellationToken);

    public Task<VirtualMachineInstanceMigration?> GetMigrationAsync(string name, CancellationToken cancellationToken) =>
        GetAsync(MigrationPlural, name, ApiJsonContext.Default.VirtualMachineInstanceMigration, cancellationToken);

    /// <summary>The VM, or an error naming the namespace looked in.</summary>
    public async Task<VirtualMachine> RequireVmAsync(string name, CancellationToken cancellationToken) =>
        await GetVmAsync(name, cancellationToken) ?? throw NoSuchVm(name);

    /// <summary>Neither a VM nor an instance of that name here: says where it looked and how to look elsewhere.</summary>
    public ClusterException NoSuchVm(string name) =>
        new($"no VM {name} in namespace {ns} (`podvisor list -n {ns}` shows those there; -n picks another namespace)");

    public Task<List<VirtualMachine>> ListVmsAsync(bool allNamespaces, CancellationToken cancellationToken) =>
        ListAsync(VmPlural, allNamespaces, ApiJsonContext.Default.VirtualMachine, cancellationToken);

    public Task<List<VirtualMachineInstance>> ListVmisAsync(bool allNamespaces, CancellationToken cancellationToken) =>
        ListAsync(VmiPlural, allNamespaces, ApiJsonContext.Default.VirtualMachineInstance, cancellationToken);

    public Task<List<VirtualMachineInstanceMigration>> ListMigrationsAsync(CancellationToken cancellationToken) =>
        ListAsync(MigrationPlural, false, ApiJsonContext.Default.VirtualMachineInstanceMigration, cancellationToken);

    /// <summary>The migrations of <paramref name="vmi"/> not yet Succeeded or Failed, oldest first.</summary>
    public async Task<List<VirtualMachineInstanceMigration>> UnfinishedMigrationsAsync(string vmi, CancellationToken cancellationToken) =>
        (await ListMigrationsAsync(cancellationToken))
        .Where(m => m.Spec.VmiName == vmi && !MigrationPhases.IsFinal(m.Status?.Phase))
        .OrderBy(m => m.Metadata.CreationTimestamp).ToList();

    /// <summary>Replaces the VM's status as read (its resourceVersion: a status changed meanwhile is a 409, not overwritten).</summary>
    public Task ReplaceVmStatusAsync(VirtualMachine vm, CancellationToken cancellationToken) =>
        client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync(JsonSerializer.SerializeToElement(vm, ApiJsonContext.Default.VirtualMachine),
            ApiGroup.Group, ApiGroup.Version, ns, VmPlural, vm.Metadata.Name, cancellationToken: cancellationToken);

    /// <summary>A JSON merge patch of the VM as read (its resourceVersion in the patch: a VM changed meanwhile is a 409).</summary>
    public Task PatchVmAsync(VirtualMachine vm, JsonObject patch, CancellationToken cancellationToken)
    {
        patch["metadata"] = new JsonObject { ["resourceVersion"] = vm.Metadata.ResourceVersion };
        return client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch),
            ApiGroup.Group, ApiGroup.Version, ns, VmPlural, vm.Metadata.Name, cancellationToken: cancellationToken);
    }

    /// <summary>A JSON merge patch of the instance's metadata.</summary>
    public Task PatchVmiAsync(string name, JsonObject patch, CancellationToken cancellationToken) =>
        client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch),
            ApiGroup.Group, ApiGroup.Version, ns, VmiPlural, name, cancellationToken: cancellationToken);

    public async Task<VirtualMachineInstanceMigration> CreateMigrationAsync(VirtualMachineInstanceMigration migration, CancellationToken cancellationToken)
    {
        var created = (JsonElement)await client.CustomObjects.CreateNamespacedCustomObjectAsync(
            JsonSerializer.SerializeToElement(migration, ApiJsonContext.Default.VirtualMachineInstanceMigration),
            ApiGroup.Group, ApiGroup.Version, ns, MigrationPlural, cancellationToken: cancellationToken);
        return created.Deserialize(ApiJsonContext.Default.VirtualMachineInstanceMigration)!;
    }

    /// <summary>Deletes a migration; false if it was already gone.</summary>
    public async Task<bool> DeleteMigrationAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            await client.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, MigrationPlural, name, cancellationToken: cancellationToken);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>Warning events about the object named <paramref name="name"/> of <paramref name="kind"/>, newest last; none
    /// for a user who may not read events (Podvisor's own roles do not grant it).</summary>
    public async Task<List<Corev1Event>> WarningsAboutAsync(string kind, string name, CancellationToken cancellationToken)
    {
        try
        {
            var events = await client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.kind={kind},involvedObject.name={name},type=Warning",
                cancellationToken: cancellationToken);
            return events.Items.OrderBy(e => e.LastTimestamp ?? e.EventTime ?? e.Metadata.CreationTimestamp).ToList();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
        {
            return [];
        }
    }

    private async Task<T?> GetAsync<T>(string plural, string name, JsonTypeInfo<T> type, CancellationToken cancellationToken) where T : class
    {
        try
        {
            var json = (JsonElement)await client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, plural, name, cancellationToken);
            return json.Deserialize(type);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound && NotFoundIsTheObject(e))
        {
            return null;
        }
    }

    /// <summary>A 404 for the object, not for the resource type: without the CRDs every name is "not found", which is not
    /// the answer to give.</summary>
    private bool NotFoundIsTheObject(HttpOperationException e)
    {
        try
        {
            if (e.Response.Content is { Length: > 0 } content && JsonDocument.Parse(content).RootElement is { ValueKind: JsonValueKind.Object } status
                && status.TryGetProperty("kind", out var kind) && kind.ValueEquals("Status") && status.TryGetProperty("details", out _)) return true;
        }
        catch (JsonException) { }                  // "404 page not found": no such resource type
        throw new ClusterException($"the API server does not know Podvisor's resources ({ApiGroup.Group}/{ApiGroup.Version}): " +
            "install Podvisor (helm install podvisor charts/podvisor) or apply its CRDs (kubectl apply -f crds/)");
    }

    private async Task<List<T>> ListAsync<T>(string plural, bool allNamespaces, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        object list;
        try
        {
            list = allNamespaces
                ? await client.CustomObjects.ListClusterCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, plural, cancellationToken: cancellationToken)
                : await client.CustomObjects.ListNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, plural, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            NotFoundIsTheObject(e);
            throw;
        }
        var items = ((JsonElement)list).GetProperty("items");
        return items.EnumerateArray().Select(item => item.Deserialize(type)!).ToList();
    }
}
