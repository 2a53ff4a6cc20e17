using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Podvisor.Api;

namespace Podvisor.Operator.Launcher;

/// <summary>The PersistentVolumeClaims a VMI names, as the API server has them (what pod building and migration checks need).</summary>
public static class ClaimLookup
{
    /// <summary>The VMI's claims that exist, by name, and the first it names that does not (in volume order), if any.</summary>
    public static async Task<(Dictionary<string, V1PersistentVolumeClaim> Found, string? Missing)> ReadAsync(IKubernetes client, VirtualMachineInstance vmi,
        CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, V1PersistentVolumeClaim>();
        string? missing = null;
        foreach (string claim in (vmi.Spec.Volumes ?? []).Select(v => v.PersistentVolumeClaim?.ClaimName).OfType<string>().Distinct())
        {
            try
            {
                found[claim] = await client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(claim, vmi.Metadata.NamespaceProperty, cancellationToken: cancellationToken);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                missing ??= claim;
            }
        }
        return (found, missing);
    }

    /// <summary>For <see cref="LauncherPodBuilder.Build"/>: whether each claim is a block device (volumeMode Block).</summary>
    public static Dictionary<string, bool> BlockModes(IReadOnlyDictionary<string, V1PersistentVolumeClaim> claims) =>
        claims.ToDictionary(kv => kv.Key, kv => kv.Value.Spec?.VolumeMode == "Block");
}
