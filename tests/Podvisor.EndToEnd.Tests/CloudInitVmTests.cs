using k8s;
using Podvisor.Api;
using Podvisor.Testing;

namespace Podvisor.EndToEnd.Tests;

/// <summary>
/// examples/vm-cloud-init.yaml from apply to deletion: a Debian guest whose real cloud-init reads the NoCloud seed
/// the launcher wrote — user-data, meta-data and network configuration — and takes its address from the launcher's
/// DHCP server through it. Full KVM (the emulated host here): Debian's stock kernel does not boot on kvm_pvm.
/// </summary>
[Trait("Category", "FullKvm")]
public sealed class CloudInitVmTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(8);
    private const string Vm = "debian-cloud", Claim = "debian-cloud-root";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CloudInitRunsTheUserDataAndNetworkConfigurationTheLauncherSeeded()
    {
        const string ns = "e2e-cloud";
        string? storage = null;
        await using var cluster = await LocalCluster.StartAsync(ns, claim => Path.Combine(storage!, "claims", claim), Ct);
        storage = cluster.Storage;
        var client = cluster.Client;
        var image = await CloudGuestImage.EnsureAsync(Ct);
        string guest = Directory.CreateDirectory(Path.Combine(storage, "guest", "debian-cloud")).FullName;
        File.Copy(image.Kernel, Path.Combine(guest, "vmlinuz"));
        File.Copy(image.Initrd, Path.Combine(guest, "initrd.gz"));
        string claim = Directory.CreateDirectory(Path.Combine(storage, "claims", Claim)).FullName;
        await Podvisor.EmulatedHost.ProcessRunner.RunAsync("cp", ["--sparse=always", image.RootDisk, Path.Combine(claim, "disk.img")], cancellationToken: Ct);
        string manifest = Path.Combine(storage, "vm-cloud-init.yaml");
        string example = File.ReadAllText(Path.Combine(Repository.Root, "examples", "vm-cloud-init.yaml"));
        Assert.Contains("/var/lib/podvisor/guest/debian-cloud/", example);
        File.WriteAllText(manifest, example.Replace("/var/lib/podvisor/guest/debian-cloud/", guest + "/"));
        var launchers = cluster.Launchers;

        string applied = await Kubectl.RunAsync(cluster.Server.KubeconfigPath, ["apply", "-n", ns, "-f", manifest], Ct);
        Assert.Contains($"persistentvolumeclaim/{Claim} created", applied);
        Assert.Contains($"virtualmachine.podvisor.io/{Vm} created", applied);
        var vmi = await cluster.Eventually(() => cluster.Vmi(ns, Vm, Ct), v => v?.Status?.Phase == VmiPhases.Running,
            "the VMI Running", Patience, Ct);
        await cluster.Eventually(() => Task.FromResult(launchers.Console(ns, Vm)),
            c => c.Contains(CloudGuestImage.CloudInitDoneMarker, StringComparison.Ordinal) || c.Contains("Kernel panic", StringComparison.Ordinal),
            "cloud-init's four stages run in the guest", Patience, Ct);
        string console = launchers.Console(ns, Vm);

        // Every stage found the seed and ran without an error (nothing in the seed it found invalid)…
        void OnConsole(string text) => Assert.True(console.Contains(text, StringComparison.Ordinal), $"not on the guest's console: {text}\n{console}");
        foreach (string stage in new[] { "init --local", "init", "modules --mode=config", "modules --mode=final" })
            OnConsole($"podvisor-guest: cloud-init {stage} exit=0 at");
        OnConsole("Datasource DataSourceNoCloud [seed=/dev/vdb]");
        Assert.DoesNotContain("Invalid cloud-config", console);
        // …the network configuration made ifup take the launcher's DHCP lease, and the user-data's runcmd ran on the
        // host name meta-data gave, with that address and the launcher's end as the route out.
        OnConsole("podvisor-guest: ifup -a exit=0");
        OnConsole($"cloud-init runcmd ran on {Vm} with 10.0.2.2/24 via 10.0.2.1");
        var pod = Assert.Single((await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items);
        string podFolder = launchers.PodFolder(pod), podNetwork = launchers.NetworkNamespaceOf(pod);
        var nic = Assert.Single(vmi!.Status!.Interfaces ?? []);
        Assert.Equal((pod.Status.PodIP, GuestMac.Derived(vmi.Metadata.Uid)), (nic.IpAddress, nic.Mac));

        await Kubectl.RunAsync(cluster.Server.KubeconfigPath, ["delete", "-n", ns, "virtualmachine", Vm, "--wait=false"], Ct);
        await cluster.Eventually(async () => (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.Count, n => n == 0,
            "the launcher pod gone", Patience, Ct);
        await cluster.Eventually(() => cluster.Vmi(ns, Vm, Ct), v => v is null, "the VMI gone", Patience, Ct);
        // Asked, not pulled: the guest's init heard the power button and powered off.
        Assert.Contains("podvisor-guest: power button: powering off", launchers.Console(ns, Vm));
        Assert.Contains("stopped: GuestPowerOff", launchers.Logs());
        Assert.Equal(0, launchers.Running);
        Assert.False(Directory.Exists(podFolder));                                      // the seed disk went with the pod
        Assert.True(File.Exists(Path.Combine(claim, "disk.img")));                      // the claim's disk is the user's
        Assert.Empty(cluster.Nodes.Errors);
        Assert.DoesNotContain(podNetwork, await LocalCluster.NetworkNamespacesAsync(Ct));
        Assert.All(cluster.OperatorExits, why => Assert.Equal("lost the lease", why));
    }
}
