using System.Text.Json;
using k8s;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Testing;

namespace Podvisor.EndToEnd.Tests;

/// <summary>
/// A VMI the launcher cannot run, through the whole chain: API server, the operator process, a launcher pod
/// run as a process, and back into the VMI's status. No guest boots, so no full KVM is needed.
/// </summary>
public sealed class BadInputTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AClaimWithoutItsDiskImageFailsTheVmiSayingWhyAndTheOperatorCarriesOn()
    {
        const string ns = "e2e-bad";
        string? storage = null;
        await using var cluster = await LocalCluster.StartAsync(ns, claim => Path.Combine(storage!, "claims", claim), Ct);
        storage = cluster.Storage;
        var client = cluster.Client;
        await client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim
        {
            Metadata = new V1ObjectMeta { Name = "root-disk" },
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteOnce"],
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
            },
        }, ns, cancellationToken: Ct);
        string claim = Directory.CreateDirectory(Path.Combine(storage, "claims", "root-disk")).FullName;    // empty: no disk.img
        string kernel = Path.Combine(storage, "vmlinuz");
        File.WriteAllText(kernel, "not booted: the launcher stops before");
        var vmi = ManifestReader.ReadSingle<VirtualMachineInstance>($$"""
            apiVersion: podvisor.io/v1alpha1
            kind: VirtualMachineInstance
            metadata:
              name: no-image
              namespace: {{ns}}
            spec:
              domain:
                memory:
                  guest: 64Mi
                firmware:
                  kernelBoot:
                    hostPath:
                      kernelPath: {{kernel}}
                devices:
                  disks:
                  - name: root
              volumes:
              - name: root
                persistentVolumeClaim:
                  claimName: root-disk
            """, "no-image.yaml");

        await client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToElement(vmi, ApiJsonContext.Default.VirtualMachineInstance),
            ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstances", cancellationToken: Ct);
        var failed = (await cluster.Eventually(() => cluster.Vmi(ns, "no-image", Ct), v => v?.Status?.Phase == VmiPhases.Failed, "the VMI Failed", Patience, Ct))!;
        Assert.Equal(ConditionReasons.PodFailed, failed.Status!.Reason);
        var ready = Assert.Single(failed.Status.Conditions!, c => c.Type == ConditionTypes.Ready);
        Assert.Equal("False", ready.Status);
        Assert.Contains("exited with code 2", ready.Message);
        Assert.Contains("volume root: claim root-disk holds no disk.img", ready.Message);
        Assert.All(cluster.OperatorExits, why => Assert.Equal("lost the lease", why));           // the operator carries on: no crash
        Assert.False(cluster.Operator.HasExited);
        Assert.Empty(cluster.Nodes.Errors);
        Assert.True(Directory.Exists(claim));                        // the claim's storage is the user's: untouched
    }

    [Fact]
    public async Task AMissingClaimAndAnUnschedulableVmEachSayWhyAndTheOperatorCarriesOn()
    {
        const string ns = "e2e-pend";
        await using var cluster = await LocalCluster.StartAsync(ns, claimFolder: claim => Path.Combine(Path.GetTempPath(), "absent", claim), Ct);
        string manifest = Path.Combine(cluster.Storage, "vms.yaml");
        File.WriteAllText(manifest, """
            apiVersion: podvisor.io/v1alpha1
            kind: VirtualMachine
            metadata:
              name: claimless
            spec:
              runStrategy: Always
              template:
                spec:
                  domain:
                    memory: {guest: 64Mi}
                    firmware: {kernelBoot: {hostPath: {kernelPath: /var/lib/podvisor/guest/bzImage}}}
                    devices: {disks: [{name: root}]}
                  volumes:
                  - name: root
                    persistentVolumeClaim: {claimName: absent-disk}
            ---
            apiVersion: podvisor.io/v1alpha1
            kind: VirtualMachine
            metadata:
              name: picky
            spec:
              runStrategy: Always
              template:
                spec:
                  nodeSelector: {disktype: nvme}
                  domain:
                    memory: {guest: 64Mi}
                    firmware: {kernelBoot: {hostPath: {kernelPath: /var/lib/podvisor/guest/bzImage}}}
            """);
        await Kubectl.RunAsync(cluster.Server.KubeconfigPath, ["apply", "-n", ns, "-f", manifest], Ct);

        var claimless = (await cluster.Eventually(() => cluster.Vmi(ns, "claimless", Ct),
            v => Condition(v, ConditionTypes.Synchronized)?.Reason == ConditionReasons.PvcNotFound, "claimless: Synchronized=False FailedPvcNotFound", Patience, Ct))!;
        Assert.Equal(VmiPhases.Pending, claimless.Status!.Phase);
        Assert.Equal($"PersistentVolumeClaim {ns}/absent-disk not found", Condition(claimless, ConditionTypes.Synchronized)!.Message);
        var picky = (await cluster.Eventually(() => cluster.Vmi(ns, "picky", Ct),
            v => Condition(v, ConditionTypes.PodScheduled)?.Reason == "Unschedulable", "picky: PodScheduled=False Unschedulable", Patience, Ct))!;
        Assert.Equal(VmiPhases.Scheduling, picky.Status!.Phase);
        Assert.Contains("didn't match Pod's node affinity/selector", Condition(picky, ConditionTypes.PodScheduled)!.Message);
        // What a user sees first: kubectl's view of the VMs.
        await cluster.Eventually(() => Kubectl.RunAsync(cluster.Server.KubeconfigPath,
                ["get", "vm", "-n", ns, "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.printableStatus} {end}"], Ct),
            o => o.Contains($"claimless={PrintableStatuses.ErrorPvcNotFound}", StringComparison.Ordinal) && o.Contains($"picky={PrintableStatuses.ErrorUnschedulable}", StringComparison.Ordinal),
            "kubectl get vm showing ErrorPvcNotFound and ErrorUnschedulable", Patience, Ct);
        var pods = (await cluster.Client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items;
        Assert.Equal(["picky"], pods.Select(p => p.Metadata.Labels["podvisor.io/vmi"]));      // none for the claimless VM

        Assert.All(cluster.OperatorExits, why => Assert.Equal("lost the lease", why));
        Assert.False(cluster.Operator.HasExited);
        Assert.Empty(cluster.Nodes.Errors);
    }

    private static Condition? Condition(VirtualMachineInstance? vmi, string type) => vmi?.Status?.Conditions?.FirstOrDefault(c => c.Type == type);
}
