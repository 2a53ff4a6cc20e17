using System.Text.Json;
using k8s;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Testing;

namespace Podvisor.Cli.Tests;

/// <summary>A real API server with Podvisor's CRDs, shared by a class's tests (each uses its own VM names), and what
/// the tests do there in the operator's place: create VMs and instances and write their status.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public KubeApiServer Server { get; private set; } = null!;
    public Kubernetes Client { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Server = await KubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        await Server.ApplyCrdsAsync(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "crds"), "*.yaml").Select(File.ReadAllText),
            TestContext.Current.CancellationToken);
        Client = Server.Client();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A VirtualMachine; <paramref name="runFields"/> is its spec's run line(s), e.g. "runStrategy: Halted".</summary>
    public async Task<VirtualMachine> CreateVmAsync(string name, string runFields, string ns = "default")
    {
        var vm = ManifestReader.ReadSingle<VirtualMachine>($$"""
            apiVersion: podvisor.io/v1alpha1
            kind: VirtualMachine
            metadata: { name: {{name}}, namespace: {{ns}} }
            spec:
              {{runFields}}
              template:
                spec:
                  domain:
                    memory: { guest: 64Mi }
                    firmware: { kernelBoot: { hostPath: { kernelPath: /boot/vmlinuz } } }
            """, "vm.yaml");
        var created = (JsonElement)await Client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToElement(vm, ApiJsonContext.Default.VirtualMachine),
            ApiGroup.Group, ApiGroup.Version, ns, "virtualmachines", cancellationToken: Ct);
        return created.Deserialize(ApiJsonContext.Default.VirtualMachine)!;
    }

    /// <summary>An instance as the operator and its launcher leave a running one: phase, node, an address, Ready.</summary>
    public async Task<VirtualMachineInstance> CreateRunningVmiAsync(string name, string node = "node-a", string ns = "default", string ip = "10.244.0.7")
    {
        var vmi = ManifestReader.ReadSingle<VirtualMachineInstance>($$"""
            apiVersion: podvisor.io/v1alpha1
            kind: VirtualMachineInstance
            metadata: { name: {{name}}, namespace: {{ns}} }
            spec:
              domain:
                memory: { guest: 64Mi }
                firmware: { kernelBoot: { hostPath: { kernelPath: /boot/vmlinuz } } }
            """, "vmi.yaml");
        var created = ((JsonElement)await Client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToElement(vmi, ApiJsonContext.Default.VirtualMachineInstance),
            ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstances", cancellationToken: Ct)).Deserialize(ApiJsonContext.Default.VirtualMachineInstance)!;
        return await UpdateVmiStatusAsync(created, s =>
        {
            s.Phase = VmiPhases.Running;
            s.NodeName = node;
            s.Interfaces = [new InterfaceStatus { Name = "default", IpAddress = ip, Mac = "52:54:00:12:34:56" }];
            s.Conditions = [new Condition { Type = ConditionTypes.Ready, Status = "True" }];
            s.ActivePods = new() { [$"uid-{name}"] = node };
        });
    }

    public Task<VirtualMachineInstance> UpdateVmiStatusAsync(VirtualMachineInstance vmi, Action<VirtualMachineInstanceStatus> change) =>
        UpdateStatusAsync(vmi, v => change(v.Status ??= new()), "virtualmachineinstances", ApiJsonContext.Default.VirtualMachineInstance);

    public Task<VirtualMachine> UpdateVmStatusAsync(VirtualMachine vm, Action<VirtualMachineStatus> change) =>
        UpdateStatusAsync(vm, v => change(v.Status ??= new()), "virtualmachines", ApiJsonContext.Default.VirtualMachine);

    public Task<VirtualMachineInstanceMigration> UpdateMigrationStatusAsync(VirtualMachineInstanceMigration migration, Action<VirtualMachineInstanceMigrationStatus> change) =>
        UpdateStatusAsync(migration, m => change(m.Status ??= new()), "virtualmachineinstancemigrations", ApiJsonContext.Default.VirtualMachineInstanceMigration);

    private async Task<T> UpdateStatusAsync<T>(T resource, Action<T> change, string plural, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var current = await GetAsync(plural, resource.Metadata.NamespaceProperty, resource.Metadata.Name, type) ?? throw new InvalidOperationException($"{resource.Metadata.Name} is gone");
        change(current);
        var replaced = (JsonElement)await Client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync(JsonSerializer.SerializeToElement(current, type),
            ApiGroup.Group, ApiGroup.Version, resource.Metadata.NamespaceProperty, plural, resource.Metadata.Name, cancellationToken: Ct);
        return replaced.Deserialize(type)!;
    }

    /// <summary>A migration as a user (or the CLI) creates one; with <paramref name="finalizer"/> as the operator holds it.</summary>
    public async Task<VirtualMachineInstanceMigration> CreateMigrationAsync(string vmi, string? finalizer = null, string ns = "default")
    {
        var migration = new VirtualMachineInstanceMigration
        {
            Metadata = new V1ObjectMeta { GenerateName = $"{vmi}-migration-", NamespaceProperty = ns, Finalizers = finalizer is null ? null : [finalizer] },
            Spec = new VirtualMachineInstanceMigrationSpec { VmiName = vmi },
        };
        return ((JsonElement)await Client.CustomObjects.CreateNamespacedCustomObjectAsync(
            JsonSerializer.SerializeToElement(migration, ApiJsonContext.Default.VirtualMachineInstanceMigration),
            ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstancemigrations", cancellationToken: Ct)).Deserialize(ApiJsonContext.Default.VirtualMachineInstanceMigration)!;
    }

    /// <summary>Lets a deleted migration go, as the operator does once it has cancelled it.</summary>
    public Task RemoveFinalizersAsync(VirtualMachineInstanceMigration migration) =>
        Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.MergePatch),
            ApiGroup.Group, ApiGroup.Version, migration.Metadata.NamespaceProperty, "virtualmachineinstancemigrations", migration.Metadata.Name, cancellationToken: Ct);

    public Task<VirtualMachineInstanceMigration?> GetMigrationAsync(string name, string ns = "default") =>
        GetAsync("virtualmachineinstancemigrations", ns, name, ApiJsonContext.Default.VirtualMachineInstanceMigration);

    public Task<VirtualMachine?> GetVmAsync(string name, string ns = "default") => GetAsync("virtualmachines", ns, name, ApiJsonContext.Default.VirtualMachine);

    public async Task<List<VirtualMachineInstanceMigration>> MigrationsOfAsync(string vmi, string ns = "default")
    {
        var list = (JsonElement)await Client.CustomObjects.ListNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstancemigrations",
            cancellationToken: Ct);
        return list.GetProperty("items").EnumerateArray().Select(i => i.Deserialize(ApiJsonContext.Default.VirtualMachineInstanceMigration)!)
            .Where(m => m.Spec.VmiName == vmi).ToList();
    }

    private async Task<T?> GetAsync<T>(string plural, string ns, string name, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) where T : class
    {
        try
        {
            return ((JsonElement)await Client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, plural, name, Ct)).Deserialize(type);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}
