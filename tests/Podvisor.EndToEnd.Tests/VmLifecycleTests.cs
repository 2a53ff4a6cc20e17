using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
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
public sealed class VmLifecycleTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(5);
    private static string SharedGuest(string file) => Path.GetFullPath(Path.Combine(Repository.Root, "..", "shared", "guest", file));
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private KubeApiServer _server = null!;
    private Kubernetes _client = null!;
    private readonly string _storage = Directory.CreateTempSubdirectory("podvisor-e2e-").FullName;
    private readonly StringBuilder _operatorLog = new();

    public async ValueTask InitializeAsync()
    {
        _server = await KubeApiServer.StartAsync(Ct);
        _client = _server.Client();
        await _server.ApplyCrdsAsync(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "crds"), "*.yaml").Select(File.ReadAllText), Ct);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_storage, recursive: true);
    }

    private string Diagnostics(LauncherPods pods)
    {
        lock (_operatorLog) return $"operator:\n{_operatorLog}\nlaunchers:\n{pods.Logs()}";
    }

    private async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> condition, string what, LauncherPods pods)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var value = await read();
            if (condition(value)) return value;
            if (DateTime.UtcNow > deadline) Assert.Fail($"{what}: not within {Patience}\n{Diagnostics(pods)}");
            await Task.Delay(500, Ct);
        }
    }

    private async Task<VirtualMachineInstance?> Vmi(string ns, string name)
    {
        try
        {
            var json = (JsonElement)await _client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstances", name, cancellationToken: Ct);
            return json.Deserialize(ApiJsonContext.Default.VirtualMachineInstance);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    [Fact]
    public async Task AnAppliedVmBootsShowsItsConsoleAndIsGoneWithEverythingItMadeOnceDeleted()
    {
        const string ns = "e2e";
        await _client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } }, cancellationToken: Ct);
        // The guest: a marker, a line from its emptyDisk, then it waits for the power button and powers off.
        string initrd = Path.Combine(_storage, "initrd.gz");
        CpioArchive.Extend(SharedGuest("initrd.gz"), initrd, [("etc/guest-run", Encoding.UTF8.GetBytes("""
            echo "E2E-GUEST-UP disk=$(cat /sys/block/vda/size) sectors"
            while read -r n _ < /sys/firmware/acpi/interrupts/ff_pwr_btn && [ "$n" = 0 ]; do sleep 0.2; done
            echo E2E-GUEST-SHUTTING-DOWN
            """), 0x1ED)]);
        string manifest = $$"""
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
            """;
        var vm = ManifestReader.ReadSingle<VirtualMachine>(manifest, "e2e-vm.yaml");

        await using var launchers = new LauncherPods(_client, Repository.BuiltAssembly("Podvisor.Launcher", "podvisor-launcher.dll", "linux-x64"), _storage);
        await using var nodes = await FakeNodes.StartAsync(_client, "podvisor.io/component=launcher", [("node-a", null)], ns, cancellationToken: Ct);
        nodes.Runtime = launchers;
        using var op = OperatorProcess.Start(_server, "e2e-operator", line => { lock (_operatorLog) _operatorLog.AppendLine(line); });
        try
        {
            await _client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToElement(vm, ApiJsonContext.Default.VirtualMachine),
                ApiGroup.Group, ApiGroup.Version, ns, "virtualmachines", cancellationToken: Ct);

            var vmi = await Eventually(() => Vmi(ns, "e2e-vm"), v => v?.Status?.Phase == VmiPhases.Running, "the VMI Running (its launcher's /readyz answering)", launchers);
            Assert.Equal("node-a", vmi!.Status!.NodeName);
            await Eventually(() => Task.FromResult(launchers.Console(ns, "e2e-vm")), c => c.Contains("E2E-GUEST-UP", StringComparison.Ordinal), "the guest's marker on its console", launchers);
            Assert.Contains("E2E-GUEST-UP disk=16384 sectors", launchers.Console(ns, "e2e-vm"));       // the 8 MiB emptyDisk
            var pod = Assert.Single((await _client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items);
            string podFolder = launchers.PodFolder(pod);
            Assert.True(File.Exists(Path.Combine(podFolder, "var/run/podvisor/volumes/scratch/disk.img")));

            await _client.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, "virtualmachines", "e2e-vm", cancellationToken: Ct);
            await Eventually(async () => (await _client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: Ct)).Items.Count, n => n == 0, "the launcher pod gone", launchers);
            await Eventually(() => Vmi(ns, "e2e-vm"), v => v is null, "the VMI gone", launchers);
            await Eventually(async () => (await _client.CoreV1.ListNamespacedSecretAsync(ns, cancellationToken: Ct)).Items.Count(s => s.Metadata.Name.StartsWith("podvisor-control-", StringComparison.Ordinal)),
                n => n == 0, "the control Secret gone", launchers);
            // Asked, not pulled: the guest heard the power button and powered off before the grace period ran out.
            Assert.Contains("E2E-GUEST-SHUTTING-DOWN", launchers.Console(ns, "e2e-vm"));
            Assert.Contains("stopped: GuestPowerOff", launchers.Logs());
            Assert.Equal(0, launchers.Running);
            Assert.False(Directory.Exists(podFolder));                                              // its emptyDisk with it
            Assert.Empty(nodes.Errors);
        }
        finally
        {
            if (!op.HasExited) op.Kill(entireProcessTree: true);
        }
    }
}
