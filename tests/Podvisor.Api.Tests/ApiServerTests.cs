using System.Diagnostics;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Podvisor.Api.Crds;
using Podvisor.Testing;

namespace Podvisor.Api.Tests;

/// <summary>One real kube-apiserver (and etcd) with the CRDs installed, for the class.</summary>
public sealed class ApiServerFixture : IAsyncLifetime
{
    public KubeApiServer Server { get; private set; } = null!;

    public Kubernetes Client { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Server = await KubeApiServer.StartAsync(TestContext.Current.CancellationToken);
        Client = Server.Client();
        await Server.ApplyCrdsAsync(CrdGenerator.GenerateAll().Select(g => g.Yaml), TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}

/// <summary>The generated CRDs on a real API server (v1.20 here): accepted, and enforcing their schema.</summary>
public sealed class ApiServerTests(ApiServerFixture fixture) : IClassFixture<ApiServerFixture>
{
    private static object Body(VirtualMachine vm) =>
        JsonSerializer.Deserialize<JsonElement>(JsonSerializer.Serialize(vm, ApiJsonContext.Default.VirtualMachine));

    private static VirtualMachine Example(string name)
    {
        var vm = ManifestReader.ReadSingle<VirtualMachine>(Path.Combine(AppContext.BaseDirectory, "examples", "vm.yaml"));
        vm.Metadata.Name = name;
        return vm;
    }

    private Task<object> Create(VirtualMachine vm) =>
        fixture.Client.CustomObjects.CreateNamespacedCustomObjectAsync(Body(vm), ApiGroup.Group, ApiGroup.Version, "default", "virtualmachines",
            cancellationToken: TestContext.Current.CancellationToken);

    [Fact]
    public async Task TheExampleVirtualMachineIsStoredAsWritten()
    {
        await Create(Example("stored"));
        var read = (JsonElement)await fixture.Client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, "default",
            "virtualmachines", "stored", TestContext.Current.CancellationToken);
        var vm = read.Deserialize(ApiJsonContext.Default.VirtualMachine)!;
        Assert.Equal(RunStrategies.Always, vm.Spec.RunStrategy);
        Assert.Equal("256Mi", vm.Spec.Template!.Spec!.Domain!.Memory!.Guest);
        Assert.EndsWith("bzImage", vm.Spec.Template.Spec.Domain.Firmware!.KernelBoot!.HostPath!.KernelPath);
        Assert.NotNull(vm.Metadata.Uid);
    }

    [Fact]
    public async Task TheSchemaRejectsBadFieldsAndNamesEachOne()
    {
        var vm = Example("bad");
        vm.Spec.RunStrategy = "Sometimes";
        var domain = vm.Spec.Template!.Spec!.Domain!;
        domain.Cpu = new() { Cores = 0 };
        domain.Memory!.Guest = "lots";
        vm.Spec.Template.Spec.Volumes = [new() { Name = "Bad_Name", EmptyDisk = new() }];
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => Create(vm));
        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, e.Response.StatusCode);
        string message = e.Response.Content;
        foreach (string field in new[] { "spec.runStrategy", "spec.template.spec.domain.cpu.cores", "spec.template.spec.domain.memory.guest",
                     "spec.template.spec.volumes.name", "spec.template.spec.volumes.emptyDisk.capacity" })
            Assert.Contains(field, message);
    }

    [Fact]
    public async Task KubectlApplyShowsTheFieldThatIsWrong()
    {
        string kubectl = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(p => Path.Combine(p, "kubectl")).FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("kubectl is not on the PATH");
        string manifest = Path.Combine(fixture.Server.StateDirectory, "bad-vm.yaml");
        await File.WriteAllTextAsync(manifest, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "vm.yaml"))
            .Replace("name: microvm", "name: kubectl-bad").Replace("cores: 1", "cores: 0"), TestContext.Current.CancellationToken);
        var psi = new ProcessStartInfo(kubectl) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { "--kubeconfig", fixture.Server.KubeconfigPath, "apply", "--validate=false", "-f", manifest }) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        string stderr = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.NotEqual(0, process.ExitCode);
        Assert.Contains("spec.template.spec.domain.cpu.cores: Invalid value: 0", stderr);
    }

    [Fact]
    public async Task ShortNamesAndStatusSubresourceWork()
    {
        await Create(Example("with-status"));
        var patch = new V1Patch("""{"status":{"printableStatus":"Stopped","ready":false}}""", V1Patch.PatchType.MergePatch);
        await fixture.Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(patch, ApiGroup.Group, ApiGroup.Version, "default",
            "virtualmachines", "with-status", cancellationToken: TestContext.Current.CancellationToken);
        var read = (JsonElement)await fixture.Client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, "default",
            "virtualmachines", "with-status", TestContext.Current.CancellationToken);
        Assert.Equal("Stopped", read.Deserialize(ApiJsonContext.Default.VirtualMachine)!.Status!.PrintableStatus);

        var resources = await fixture.Client.ApiextensionsV1.ReadCustomResourceDefinitionAsync("virtualmachineinstances.podvisor.io",
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains("vmi", resources.Spec.Names.ShortNames);
    }
}
