using System.Text.Json;
using System.Text.Json.Serialization;
using k8s;

namespace Podvisor.Cli.Cluster;

/// <summary>
/// Source-generated JSON for the bodies the CLI hands the Kubernetes client (JsonElement objects): the client falls
/// back to reflection for types it does not know, which the native CLI lacks. <see cref="Register"/> puts this first.
/// </summary>
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(object))]
internal sealed partial class CliJson : JsonSerializerContext
{
    private static int _registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        KubernetesJson.AddJsonOptions(options => options.TypeInfoResolverChain.Insert(0, Default));
    }
}
