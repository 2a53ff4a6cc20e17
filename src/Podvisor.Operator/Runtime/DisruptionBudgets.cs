using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Podvisor.Operator.Runtime;

/// <summary>
/// PodDisruptionBudgets in whichever version of the <c>policy</c> group the API server serves: <c>policy/v1</c>
/// from Kubernetes 1.21, only <c>policy/v1beta1</c> before (the client library knows v1 alone). The spec fields used
/// here (minAvailable, selector) are the same in both, so one model serves. Writes are idempotent: a budget already
/// there is kept, one already gone is fine.
/// </summary>
public sealed class DisruptionBudgets(IKubernetes client)
{
    private const string Group = "policy", Plural = "poddisruptionbudgets";
    private string? _version;

    /// <summary>The policy version in use ("v1" or "v1beta1"), asked of the server once.</summary>
    public async Task<string> VersionAsync(CancellationToken cancellationToken)
    {
        if (_version is { } known) return known;
        var groups = await client.Apis.GetAPIVersionsAsync(cancellationToken);
        var policy = groups.Groups.FirstOrDefault(g => g.Name == Group)
            ?? throw new InvalidOperationException("the API server serves no policy group: PodDisruptionBudgets are unavailable");
        return _version = policy.Versions.Any(v => v.Version == "v1") ? "v1" : "v1beta1";
    }

    /// <summary>An informer of the budgets across all namespaces matched by <paramref name="labelSelector"/>.</summary>
    public Informer<V1PodDisruptionBudget> CreateInformer(string labelSelector, Func<V1PodDisruptionBudget, string?>? indexKey = null, Action<string>? log = null) =>
        new(
            async ct =>
            {
                var list = await client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync<ResourceList<V1PodDisruptionBudget>>(
                    Group, await VersionAsync(ct), Plural, labelSelector: labelSelector, cancellationToken: ct);
                return (list.Body.Items, list.Body.Metadata?.ResourceVersion ?? "");
            },
            (resourceVersion, onError, ct) => Watch(labelSelector, resourceVersion, onError, ct),
            log, indexKey);

    private async IAsyncEnumerable<(WatchEventType, V1PodDisruptionBudget)> Watch(string labelSelector, string resourceVersion, Action<Exception> onError,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var events = client.CustomObjects.WatchListClusterCustomObjectAsync(Group, await VersionAsync(cancellationToken), Plural, allowWatchBookmarks: true,
            labelSelector: labelSelector, resourceVersion: resourceVersion, timeoutSeconds: (int)CustomResourceInformers.WatchTimeout.TotalSeconds,
            onError: onError, cancellationToken: cancellationToken);
        await foreach (var item in CustomResourceInformers.Typed<V1PodDisruptionBudget>(events)) yield return item;
    }

    /// <summary>Creates the budget unless one of its name exists.</summary>
    public async Task CreateUnlessPresentAsync(V1PodDisruptionBudget budget, CancellationToken cancellationToken)
    {
        string version = await VersionAsync(cancellationToken);
        budget.ApiVersion = $"{Group}/{version}";
        budget.Kind = "PodDisruptionBudget";
        try
        {
            await client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonDocument.Parse(KubernetesJson.Serialize(budget)).RootElement,
                Group, version, budget.Metadata.NamespaceProperty, Plural, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
        }
    }

    public async Task SetMinAvailableAsync(string ns, string name, int minAvailable, CancellationToken cancellationToken)
    {
        var patch = new V1Patch($$$"""{"spec":{"minAvailable":{{{minAvailable}}}}}""", V1Patch.PatchType.MergePatch);
        await client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, Group, await VersionAsync(cancellationToken), ns, Plural, name,
            cancellationToken: cancellationToken);
    }

    public async Task DeleteIfPresentAsync(string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            await client.CustomObjects.DeleteNamespacedCustomObjectAsync(Group, await VersionAsync(cancellationToken), ns, Plural, name,
                cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }
}
