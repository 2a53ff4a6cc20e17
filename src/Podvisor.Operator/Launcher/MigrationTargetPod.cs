using System.Globalization;
using k8s.Models;
using Podvisor.Api;

namespace Podvisor.Operator.Launcher;

/// <summary>
/// A migration's target pod: the VMI's launcher pod (<see cref="LauncherPodBuilder"/>), named after the migration (a
/// second create of it is refused by name: an operator restarted midway never makes two), labelled with the
/// migration's uid, kept off the source's node, with the migration's TLS credentials mounted and the launcher told
/// to receive the VM on the migration port rather than boot it.
/// </summary>
public static class MigrationTargetPod
{
    private const string MigrationVolume = "podvisor-migration";

    public static string NameOf(VirtualMachineInstance vmi, VirtualMachineInstanceMigration migration)
    {
        string name = $"podvisor-launcher-{vmi.Metadata.Name}-migration-{migration.Metadata.Uid[..8]}";
        return name.Length <= 253 ? name : name[^253..];
    }

    public static V1Pod Build(VirtualMachineInstance vmi, VirtualMachineInstanceMigration migration, string sourceNode, LauncherPodOptions options,
        IReadOnlyDictionary<string, bool> pvcBlockMode)
    {
        var pod = LauncherPodBuilder.Build(vmi, options, pvcBlockMode);
        string uid = migration.Metadata.Uid;
        pod.Metadata.GenerateName = null;
        pod.Metadata.Name = NameOf(vmi, migration);
        pod.Metadata.Labels[LauncherLabels.MigrationTarget] = uid;

        var compute = pod.Spec.Containers.Single(c => c.Name == LauncherLabels.ComputeContainer);
        compute.Command = [.. compute.Command, "--migration-target", uid, "--migration-port", LauncherLabels.MigrationPort.ToString(CultureInfo.InvariantCulture)];
        compute.Ports = [.. compute.Ports ?? [], new V1ContainerPort { ContainerPort = LauncherLabels.MigrationPort, Name = LauncherLabels.MigrationPortName, Protocol = "TCP" }];
        pod.Spec.Volumes.Add(new V1Volume
        {
            Name = MigrationVolume,
            Secret = new V1SecretVolumeSource { SecretName = LauncherLabels.MigrationSecretName(uid), DefaultMode = 0x100 /* 0400 */ },
        });
        compute.VolumeMounts.Add(new V1VolumeMount { Name = MigrationVolume, MountPath = LauncherPaths.MigrationDirectory, ReadOnlyProperty = true });
        pod.Spec.Affinity = AvoidingNode(pod.Spec.Affinity, sourceNode);
        return pod;
    }

    /// <summary>The VMI's own affinity, with the source node ruled out of every required term (KubeVirt does the same).</summary>
    private static V1Affinity AvoidingNode(V1Affinity? affinity, string node)
    {
        var notThere = new V1NodeSelectorRequirement { Key = "kubernetes.io/hostname", OperatorProperty = "NotIn", Values = [node] };
        var result = affinity is null ? new V1Affinity() : k8s.KubernetesJson.Deserialize<V1Affinity>(k8s.KubernetesJson.Serialize(affinity));
        result.NodeAffinity ??= new V1NodeAffinity();
        var required = result.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution ??= new V1NodeSelector { NodeSelectorTerms = [] };
        if (required.NodeSelectorTerms.Count == 0) required.NodeSelectorTerms.Add(new V1NodeSelectorTerm { MatchExpressions = [notThere] });
        else foreach (var term in required.NodeSelectorTerms) term.MatchExpressions = [.. term.MatchExpressions ?? [], notThere];
        return result;
    }
}
