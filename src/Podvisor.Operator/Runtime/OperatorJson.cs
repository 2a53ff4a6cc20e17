using System.Text.Json;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using Podvisor.Api;

namespace Podvisor.Operator.Runtime;

/// <summary>
/// Source-generated JSON for what the operator reads and writes through the Kubernetes client beyond the client's
/// own models: Podvisor's resources, list responses and watch events. The client falls back to reflection for
/// types it does not know, which a NativeAOT build (the operator image) lacks; <see cref="Register"/> puts these first.
/// </summary>
[JsonSerializable(typeof(VirtualMachine))]
[JsonSerializable(typeof(VirtualMachineInstance))]
[JsonSerializable(typeof(VirtualMachineInstanceMigration))]
[JsonSerializable(typeof(ResourceList<VirtualMachine>), TypeInfoPropertyName = "VirtualMachineList")]
[JsonSerializable(typeof(ResourceList<VirtualMachineInstance>), TypeInfoPropertyName = "VirtualMachineInstanceList")]
[JsonSerializable(typeof(ResourceList<VirtualMachineInstanceMigration>), TypeInfoPropertyName = "VirtualMachineInstanceMigrationList")]
[JsonSerializable(typeof(ResourceList<V1PodDisruptionBudget>), TypeInfoPropertyName = "PodDisruptionBudgetList")]
[JsonSerializable(typeof(Watcher<KubernetesObject>.WatchEvent), TypeInfoPropertyName = "KubernetesObjectWatchEvent")]
[JsonSerializable(typeof(Watcher<V1Status>.WatchEvent), TypeInfoPropertyName = "StatusWatchEvent")]
[JsonSerializable(typeof(Watcher<object>.WatchEvent), TypeInfoPropertyName = "ObjectWatchEvent")]
[JsonSerializable(typeof(Watcher<V1Pod>.WatchEvent), TypeInfoPropertyName = "PodWatchEvent")]
[JsonSerializable(typeof(Watcher<V1Node>.WatchEvent), TypeInfoPropertyName = "NodeWatchEvent")]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(object))]
public sealed partial class OperatorJson : JsonSerializerContext
{
    private static int _registered;

    /// <summary>Puts this context ahead of the client's resolvers; once, before the client serializes anything.</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        KubernetesJson.AddJsonOptions(options => options.TypeInfoResolverChain.Insert(0, Default));
    }
}
