using k8s;
using k8s.Models;

namespace Podvisor.Operator.Runtime;

/// <summary>An informer of the cluster's Nodes (what the evacuation controller watches for drains).</summary>
public static class NodeInformers
{
    public static Informer<V1Node> Create(IKubernetes client, Action<string>? log = null) =>
        new(
            async ct =>
            {
                var list = await client.CoreV1.ListNodeAsync(cancellationToken: ct);
                return (list.Items.ToList(), list.Metadata?.ResourceVersion ?? "");
            },
            (resourceVersion, onError, ct) => client.CoreV1.WatchListNodeAsync(allowWatchBookmarks: true, resourceVersion: resourceVersion,
                timeoutSeconds: (int)CustomResourceInformers.WatchTimeout.TotalSeconds, onError: onError, cancellationToken: ct),
            log);
}
