using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Podvisor.Api;

namespace Podvisor.Cli.Cluster;

/// <summary>Podvisor's resources in one namespace, typed, through the API server (source-generated JSON: the native CLI
/// has no reflection).</summary>
internal sealed class VmResources(ApiServerClient api, string ns)
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
        api.SendAsync(HttpMethod.Put, $"{ObjectPath(VmPlural, vm.Metadata.Name)}/status",
            JsonSerializer.Serialize(vm, ApiJsonContext.Default.VirtualMachine), "application/json", cancellationToken);

    /// <summary>A JSON merge patch of the VM as read (its resourceVersion in the patch: a VM changed meanwhile is a 409).</summary>
    public Task PatchVmAsync(VirtualMachine vm, JsonObject patch, CancellationToken cancellationToken)
    {
        patch["metadata"] = new JsonObject { ["resourceVersion"] = vm.Metadata.ResourceVersion };
        return MergePatchAsync(VmPlural, vm.Metadata.Name, patch, cancellationToken);
    }

    /// <summary>A JSON merge patch of the instance's metadata.</summary>
    public Task PatchVmiAsync(string name, JsonObject patch, CancellationToken cancellationToken) =>
        MergePatchAsync(VmiPlural, name, patch, cancellationToken);

    private Task MergePatchAsync(string plural, string name, JsonObject patch, CancellationToken cancellationToken) =>
        api.SendAsync(HttpMethod.Patch, ObjectPath(plural, name), patch.ToJsonString(), "application/merge-patch+json", cancellationToken);

    public async Task<VirtualMachineInstanceMigration> CreateMigrationAsync(VirtualMachineInstanceMigration migration, CancellationToken cancellationToken)
    {
        var created = await api.SendAsync(HttpMethod.Post, CollectionPath(MigrationPlural, allNamespaces: false),
            JsonSerializer.Serialize(migration, ApiJsonContext.Default.VirtualMachineInstanceMigration), "application/json", cancellationToken);
        return created.Deserialize(ApiJsonContext.Default.VirtualMachineInstanceMigration)!;
    }

    /// <summary>Deletes a migration; false if it was already gone.</summary>
    public async Task<bool> DeleteMigrationAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            await api.SendAsync(HttpMethod.Delete, ObjectPath(MigrationPlural, name), body: null, contentType: null, cancellationToken);
            return true;
        }
        catch (ApiServerException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>Warning events about the object named <paramref name="name"/> of <paramref name="kind"/>, newest last; none
    /// for a user who may not read events (Podvisor's own roles do not grant it).</summary>
    public async Task<List<ClusterEvent>> WarningsAboutAsync(string kind, string name, CancellationToken cancellationToken)
    {
        try
        {
            string selector = Uri.EscapeDataString($"involvedObject.kind={kind},involvedObject.name={name},type=Warning");
            var events = await api.GetAsync($"/api/v1/namespaces/{ns}/events?fieldSelector={selector}", cancellationToken);
            return [.. JsonFields.Array(events, "items").Select(ClusterEvent.From).OrderBy(e => e.Order)];
        }
        catch (ApiServerException e) when (e.StatusCode == HttpStatusCode.Forbidden)
        {
            return [];
        }
    }

    private string ObjectPath(string plural, string name) => $"{CollectionPath(plural, allNamespaces: false)}/{Uri.EscapeDataString(name)}";

    private string CollectionPath(string plural, bool allNamespaces) =>
        allNamespaces ? $"/apis/{ApiGroup.Group}/{ApiGroup.Version}/{plural}" : $"/apis/{ApiGroup.Group}/{ApiGroup.Version}/namespaces/{ns}/{plural}";

    private async Task<T?> GetAsync<T>(string plural, string name, JsonTypeInfo<T> type, CancellationToken cancellationToken) where T : class
    {
        try
        {
            return (await api.GetAsync(ObjectPath(plural, name), cancellationToken)).Deserialize(type);
        }
        catch (ApiServerException e) when (e.StatusCode == HttpStatusCode.NotFound && NotFoundIsTheObject(e))
        {
            return null;
        }
    }

    /// <summary>A 404 for the object, not for the resource type: without the CRDs every name is "not found", which is not
    /// the answer to give.</summary>
    private static bool NotFoundIsTheObject(ApiServerException e) => e.IsObjectNotFound
        ? true
        : throw new ClusterException($"the API server does not know Podvisor's resources ({ApiGroup.Group}/{ApiGroup.Version}): " +
            "install Podvisor (helm install podvisor charts/podvisor) or apply its CRDs (kubectl apply -f crds/)");

    private async Task<List<T>> ListAsync<T>(string plural, bool allNamespaces, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        JsonElement list;
        try
        {
            list = await api.GetAsync(CollectionPath(plural, allNamespaces), cancellationToken);
        }
        catch (ApiServerException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            NotFoundIsTheObject(e);
            throw;
        }
        return [.. JsonFields.Array(list, "items").Select(item => item.Deserialize(type)!)];
    }
}
