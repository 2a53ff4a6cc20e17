using System.Text.Json;
using k8s;
using Podvisor.Api;
using Podvisor.Testing;

namespace Podvisor.Cli.Tests;

/// <summary><c>podvisor console</c> against the real API server where there is nothing to attach to: each case says
/// why and what to do, exit code 1. (Attaching itself is in the end-to-end test, which has a guest.)</summary>
public sealed class ConsoleCommandTests : IAsyncLifetime
{
    private KubeApiServer _server = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await KubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        await _server.ApplyCrdsAsync(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "crds"), "*.yaml").Select(File.ReadAllText),
            TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    // The native build where scripts/publish made one (as users install it): it reads the kubeconfig and the API's
    // objects without reflection.
    private Podvisor.Result Console(params string[] args) => Podvisor.Run(["console", .. args, "--kubeconfig", _server.KubeconfigPath], native: true);

    [Fact]
    public void AVmThatIsNotRunningHasNoConsole()
    {
        var result = Console("web-1", "-n", "default");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("VM web-1 is not running in namespace default (no VirtualMachineInstance)", result.Stderr);
    }

    [Fact]
    public async Task AnInstanceWithoutARunningLauncherPodSaysSo()
    {
        var vmi = ManifestReader.ReadSingle<VirtualMachineInstance>("""
            apiVersion: podvisor.io/v1alpha1
            kind: VirtualMachineInstance
            metadata: { name: starting, namespace: default }
            spec:
              domain:
                memory: { guest: 64Mi }
                firmware: { kernelBoot: { hostPath: { kernelPath: /boot/vmlinuz } } }
            """, "vmi.yaml");
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(_server.KubeconfigPath));
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToElement(vmi, ApiJsonContext.Default.VirtualMachineInstance),
            ApiGroup.Group, ApiGroup.Version, "default", "virtualmachineinstances", cancellationToken: TestContext.Current.CancellationToken);
        var result = Console("starting");                            // the kubeconfig's namespace: default
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("VM starting is Pending: its launcher pod is not running yet", result.Stderr);
    }

    [Fact]
    public void WithoutAKubeconfigItSaysWhereItLooked()
    {
        var result = Podvisor.Run(["console", "web-1", "--kubeconfig", "/nonexistent/kubeconfig"], native: true);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no kubeconfig at /nonexistent/kubeconfig: give --kubeconfig FILE or set KUBECONFIG", result.Stderr);
    }
}
