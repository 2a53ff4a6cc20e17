using System.Text;
using System.Text.Json;
using k8s;
using Podvisor.Api;
using Podvisor.EmulatedHost;
using Podvisor.Testing;

namespace Podvisor.EndToEnd.Tests;

/// <summary>
/// A VM manifest from apply to deletion with every part real but the kubelet: the API server, the operator
/// process, and launcher pods run by <see cref="LauncherPods"/> as <c>podvisor-launcher</c> processes that boot
/// the guest (full KVM: inside the emulated host here).
/// </summary>
[Trait("Category", "FullKvm")]
public sealed class VmLifecycleTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(5);
    private static string SharedGuest(string file) => Path.GetFullPath(Path.Combine(Repository.Root, "..", "shared", "guest", file));
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AnAppliedVmBootsShowsItsConsoleAndIsGoneWithEverythingItMadeOnceDeleted()
    {
        const string ns = "e2e";
        await using var cluster = await LocalCluster.StartAsync(ns, claimFolder: null, Ct);
        var client = cluster.Client;
        // The guest: a marker, a line from its emptyDisk, then it waits for the power button and powers off.
        string initrd = Path.Combine(cluster.Storage, "initrd.gz");
        CpioArchive.Extend(SharedGuest("initrd.gz"), initrd, [("etc/guest-run", Encoding.UTF8.GetBytes("""
            echo "E2E-GUEST-UP disk=$(cat /sys/block/vda/size) sectors"
            while read -r n _ < /sys/firmware/acpi/interrupts/ff_pwr_btn && [ "$n" = 0 ]; do sleep 0.2; done
            echo E2E-GUEST-SHUTTING-DOWN
            """), 0x1ED)]);
        var vm = ManifestReader.ReadSingle<VirtualMachine>($$"""
            apiVersion: podvisor.io/v1alpha1
            kind: VirtualMachine
            metadata:
              name: e2e-vm
              namespace: {{ns}}
            spec:
              runStrategy: Always
              template:
                spec:
                  terminationGracePeriodSeconds: 60
                  domain:
                    memory:
                      guest: 128Mi
                    firmware:
                      kernelBoot:
                        kernelArgs: "console=ttyS0 reboot=k panic=-1 pci=off quiet"
                        hostPath:
                          kernelPath: {{SharedGuest("bzImage")}}
                          initrdPath: {{initrd}}
                    devices:
                      disks:
                      - name: scratch
                  volumes:
                  - name: scratch
                    emptyDisk:
                      capacity: 8Mi
            """, "e2e-vm.yaml");
        var launchers = cluster.Launchers;

        await client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToElement(vm, ApiJsonContext.Default.VirtualMachine),
            ApiGroup.Group, ApiGroup.Version, ns, "virtualmachines", cancellationToken: Ct);

        var vmi = await cluster.Eventually(() => cluster.Vmi(ns, "e2e-vm", Ct), v => v?.Status?.Phase == VmiPhases.Running,
            "the VMI Running (its launcher's /readyz answering)", Patience, Ct);
        Assert.Equal("node-a", vmi!.Status!.NodeName);
        await cluster.Eventually(() => Task.FromResult(launchers.Console(ns, "e2e-vm")), c => c.Contains("E2E-GUEST-UP", StringComparison.Ordinal),
            "the guest's marker on its console", Patience, Ct);
        Assert.Contains("E2E-GUEST-UP disk=16384 sectors", launchers.Console(ns, "e2e-vm"));       // the 8 MiB emptyDisk
        var pod = Assert.Single((await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items);
        string podFolder = launchers.PodFolder(pod);
        Assert.True(File.Exists(Path.Combine(podFolder, "var/run/podvisor/volumes/scratch/disk.img")));

        await client.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, "virtualmachines", "e2e-vm", cancellationToken: Ct);
        await cluster.Eventually(async () => (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.Count, n => n == 0,
            "the launcher pod gone", Patience, Ct);
        await cluster.Eventually(() => cluster.Vmi(ns, "e2e-vm", Ct), v => v is null, "the VMI gone", Patience, Ct);
        await cluster.Eventually(async () => (await client.CoreV1.ListNamespacedSecretAsync(ns, cancellationToken: Ct)).Items
            .Count(s => s.Metadata.Name.StartsWith("podvisor-control-", StringComparison.Ordinal)), n => n == 0, "the control Secret gone", Patience, Ct);
        // Asked, not pulled: the guest heard the power button and powered off before the grace period ran out.
        Assert.Contains("E2E-GUEST-SHUTTING-DOWN", launchers.Console(ns, "e2e-vm"));
        Assert.Contains("stopped: GuestPowerOff", launchers.Logs());
        Assert.Equal(0, launchers.Running);
        Assert.False(Directory.Exists(podFolder));                                              // its emptyDisk with it
        Assert.Empty(cluster.Nodes.Errors);
        Assert.All(cluster.OperatorExits, why => Assert.Equal("lost the lease", why));           // restarts, never a crash
    }
}
