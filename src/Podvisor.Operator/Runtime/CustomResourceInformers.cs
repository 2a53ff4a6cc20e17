using k8s;
using Podvisor.Api;

namespace Podvisor.Operator.Runtime;

/// <summary>Informers for Podvisor's own resources across all namespaces.</summary>
public static class CustomResourceInformers
{
    /// <summary>Server-side watch timeout: the informer re-watches from the last version after it.</summary>
    public static readonly TimeSpan WatchTimeout = TimeSpan.FromMinutes(5);

    public static Informer<T> Create<T>(IKubernetes client, string plural, Action<string>? log = null)
        where T : class, IKubernetesObject<k8s.Models.V1ObjectMeta> =>
        new(
            async ct =>
            {
                var list = await client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync<ResourceList<T>>(
                    ApiGroup.Group, ApiGroup.Version, plural, cancellationToken: ct);
                return (list.Body.Items, list.Body.Metadata?.ResourceVersion ?? "");
            },
            (resourceVersion, onError, ct) => Typed<T>(client.CustomObjects.WatchListClusterCustomObjectAsync(
                ApiGroup.Group, ApiGroup.Version, plural, allowWatchBookmarks: true, resourceVersion: resourceVersion,
                timeoutSeconds: (int)WatchTimeout.TotalSeconds, onError: onError, cancellationToken: ct)),
            log);

    /// <summary>Objects watched through the custom-objects API arrive untyped (JSON); an informer wants them as <typeparamref name="T"/>.</summary>
    public static async IAsyncEnumerable<(WatchEventType, T)> Typed<T>(IAsyncEnumerable<(WatchEventType, object)> events)
    {
        await foreach (var (type, obj) in events)
        {
            T item = obj is T typed ? typed : KubernetesJson.Deserialize<T>(obj is System.Text.Json.JsonElement e ? e.GetRawText() : obj.ToString()!);
            yield return (type, item);
        }
    }
}
