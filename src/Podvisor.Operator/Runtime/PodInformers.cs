using k8s;
using k8s.Models;

namespace Podvisor.Operator.Runtime;

/// <summary>Pod informers across all namespaces, narrowed by a label selector to the pods a controller owns.</summary>
public static class PodInformers
{
    public static Informer<V1Pod> Create(IKubernetes client, string labelSelector, Func<V1Pod, string?>? indexKey = null, Action<string>? log = null) =>
        new(
            async ct =>
            {
                var list = await client.CoreV1.ListPodForAllNamespacesAsync(labelSelector: labelSelector, cancellationToken: ct);
                return (list.Items.ToList(), list.Metadata?.ResourceVersion ?? "");
            },
            (resourceVersion, onError, ct) => client.CoreV1.WatchListPodForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: labelSelector,
                resourceVersion: resourceVersion, timeoutSeconds: (int)CustomResourceInformers.WatchTimeout.TotalSeconds, onError: onError,
                cancellationToken: ct),
            log, indexKey);
}
