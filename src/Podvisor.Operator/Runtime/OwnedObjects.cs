using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Podvisor.Operator.Runtime;

/// <summary>
/// Creating and deleting what a controller owns so that doing it again is harmless: a Secret already there is kept,
/// one already gone is fine, and a pod is deleted only if it is still the one observed (its uid as precondition).
/// </summary>
public static class OwnedObjects
{
    /// <summary>Creates the Secret unless one of its name exists (made by an earlier pass: what it holds stands).</summary>
    public static async Task CreateSecretUnlessPresentAsync(IKubernetes client, V1Secret secret, CancellationToken cancellationToken)
    {
        try
        {
            await client.CoreV1.CreateNamespacedSecretAsync(secret, secret.Metadata.NamespaceProperty, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
        }
    }

    public static async Task DeleteSecretIfPresentAsync(IKubernetes client, string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            await client.CoreV1.DeleteNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }

    /// <summary>Deletes the pod with its own grace period (the launcher asks the guest to shut down first); false if it is
    /// gone already or a different pod now has its name.</summary>
    public static async Task<bool> DeletePodAsync(IKubernetes client, V1Pod pod, CancellationToken cancellationToken)
    {
        try
        {
            await client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty,
                new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = pod.Metadata.Uid } }, cancellationToken: cancellationToken);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            return false;
        }
    }
}
