using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Podvisor.Api;

namespace Podvisor.Operator.Runtime;

/// <summary>Adds and removes a controller's finalizer on Podvisor's own resources.</summary>
public static class Finalizers
{
    public static bool Has(V1ObjectMeta metadata, string finalizer) => metadata.Finalizers?.Contains(finalizer) ?? false;

    public static Task AddAsync(IKubernetes client, string plural, V1ObjectMeta metadata, string finalizer, CancellationToken cancellationToken) =>
        PatchAsync(client, plural, metadata, [.. metadata.Finalizers ?? [], finalizer], cancellationToken);

    public static Task RemoveAsync(IKubernetes client, string plural, V1ObjectMeta metadata, string finalizer, CancellationToken cancellationToken) =>
        PatchAsync(client, plural, metadata, [.. (metadata.Finalizers ?? []).Where(f => f != finalizer)], cancellationToken);

    private static async Task PatchAsync(IKubernetes client, string plural, V1ObjectMeta metadata, List<string> finalizers, CancellationToken cancellationToken)
    {
        // resourceVersion in the patch: fails (409) if the object changed since we read it, and the controller tries again.
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["finalizers"] = new JsonArray([.. finalizers.Select(f => (JsonNode?)JsonValue.Create(f))]),
                ["resourceVersion"] = metadata.ResourceVersion,
            },
        };
        try
        {
            await client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch),
                ApiGroup.Group, ApiGroup.Version, metadata.NamespaceProperty, plural, metadata.Name, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
    }
}
