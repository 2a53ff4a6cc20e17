using System.Text;
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
public sealed class BadInputTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private KubeApiServer _server = null!;
    private Kubernetes _client = null!;
    private readonly string _storage = Directory.CreateTempSubdirectory("podvisor-e2e-bad-").FullName;
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

    [Fact]
    public async Task AClaimWithoutItsDiskImageFailsTheVmiSayingWhyAndTheOperatorCarriesOn()
    {
        const string ns = "e2e-bad";
        await _client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } }, cancellationToken: Ct);
        await _client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim
        {
            Metadata = new V1ObjectMeta { Name = "root-disk" },
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteOnce"],
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
            },
        }, ns, cancellationToken: Ct);
        string claims = Directory.CreateDirectory(Path.Combine(_storage, "claims", "root-disk")).FullName;   // empty: no disk.img
        string kernel = Path.Combine(_storage, "vmlinuz");
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

        await using var launchers = new LauncherPods(_client, Repository.BuiltAssembly("Podvisor.Launcher", "podvisor-launcher.dll", "linux-x64"), _storage,
            claim => Path.Combine(_storage, "claims", claim));
        await using var nodes = await FakeNodes.StartAsync(_client, "podvisor.io/component=launcher", [("node-a", null)], ns, cancellationToken: Ct);
        nodes.Runtime = launchers;
        using var op = OperatorProcess.Start(_server, "e2e-bad-operator", line => { lock (_operatorLog) _operatorLog.AppendLine(line); });
        try
        {
            await _client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToElement(vmi, ApiJsonContext.Default.VirtualMachineInstance),
                ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstances", cancellationToken: Ct);
            var deadline = DateTime.UtcNow + Patience;
            VirtualMachineInstance? seen = null;
            while (seen?.Status?.Phase != VmiPhases.Failed)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the VMI did not fail within {Patience}: {(seen is null ? "no VMI" : JsonSerializer.Serialize(seen, ApiJsonContext.Default.VirtualMachineInstance))}\n" +
                    $"operator:\n{_operatorLog}\nlaunchers:\n{launchers.Logs()}");
                await Task.Delay(500, Ct);
                var json = (JsonElement)await _client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstances", "no-image", cancellationToken: Ct);
                seen = json.Deserialize(ApiJsonContext.Default.VirtualMachineInstance);
            }
            Assert.Equal(ConditionReasons.PodFailed, seen.Status!.Reason);
            var ready = Assert.Single(seen.Status.Conditions!, c => c.Type == ConditionTypes.Ready);
            Assert.Equal("False", ready.Status);
            Assert.Contains("exited with code 2", ready.Message);
            Assert.Contains("volume root: claim root-disk holds no disk.img", ready.Message);
            Assert.False(op.HasExited, "the operator must keep running");
            Assert.Empty(nodes.Errors);
            Assert.True(Directory.Exists(claims));                   // the claim's storage is the user's: untouched
        }
        finally
        {
            if (!op.HasExited) op.Kill(entireProcessTree: true);
        }
    }
}
