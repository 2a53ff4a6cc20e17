using System.Text.Json;
using k8s;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Operator.Controllers;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator.Tests;

/// <summary>The VirtualMachine controller against a real API server (no nodes: instances never run here).</summary>
public sealed class VirtualMachineControllerTests(CrdApiServerFixture fixture) : IClassFixture<CrdApiServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private IKubernetes Client => fixture.Client;

    /// <summary>Informers and the controller, running until disposed (like one operator process).</summary>
    private sealed class Operator : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop;
        private readonly Task[] _loops;

        public Operator(IKubernetes client)
        {
            _stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            Vms = CustomResourceInformers.Create<VirtualMachine>(client, "virtualmachines");
            Vmis = CustomResourceInformers.Create<VirtualMachineInstance>(client, "virtualmachineinstances");
            Controller = new VirtualMachineController(client, Vms, Vmis, new EventRecorder(client, "podvisor-operator"));
            _loops = [Task.Run(() => Vms.RunAsync(_stop.Token)), Task.Run(() => Vmis.RunAsync(_stop.Token))];
            _loops = [.. _loops, Task.Run(async () =>
            {
                await Task.WhenAll(Vms.Synced, Vmis.Synced);
                await Controller.Controller.RunAsync(_stop.Token);
            })];
        }

        public Informer<VirtualMachine> Vms { get; }
        public Informer<VirtualMachineInstance> Vmis { get; }
        public VirtualMachineController Controller { get; }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(10));
            _stop.Dispose();
        }
    }

    private async Task<string> Namespace(string name)
    {
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = name } }, cancellationToken: Ct);
        return name;
    }

    private Task CreateVm(string ns, string name, string strategy) =>
        Client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToElement(new VirtualMachine
        {
            Metadata = new() { Name = name, NamespaceProperty = ns },
            Spec = new()
            {
                RunStrategy = strategy,
                Template = new()
                {
                    Metadata = new() { Labels = new Dictionary<string, string> { ["app"] = "web" } },
                    Spec = new() { Domain = new() { Memory = new() { Guest = "128Mi" }, Firmware = new() { KernelBoot = new() { HostPath = new() { KernelPath = "/k" } } } } },
                },
            },
        }, ApiJsonContext.Default.VirtualMachine), ApiGroup.Group, ApiGroup.Version, ns, "virtualmachines", cancellationToken: Ct);

    private async Task<T?> Get<T>(string ns, string plural, string name, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) where T : class
    {
        try
        {
            var element = (JsonElement)await Client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, plural, name, Ct);
            return element.Deserialize(type);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private Task<VirtualMachine?> Vm(string ns, string name) => Get(ns, "virtualmachines", name, ApiJsonContext.Default.VirtualMachine);

    private Task<VirtualMachineInstance?> Vmi(string ns, string name) => Get(ns, "virtualmachineinstances", name, ApiJsonContext.Default.VirtualMachineInstance);

    private async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var value = await read();
            if (condition(value)) return value;
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}; last: {JsonSerializer.Serialize(value)}");
            await Task.Delay(50, Ct);
        }
    }

    private Task Patch(string ns, string name, string json, bool status = false) => status
        ? Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch(json, V1Patch.PatchType.MergePatch), ApiGroup.Group, ApiGroup.Version, ns, "virtualmachines", name, cancellationToken: Ct)
        : Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(json, V1Patch.PatchType.MergePatch), ApiGroup.Group, ApiGroup.Version, ns, "virtualmachines", name, cancellationToken: Ct);

    [Fact]
    public async Task AlwaysCreatesAnOwnedInstanceAndHaltedRemovesIt()
    {
        string ns = await Namespace("vmc-always");
        await using var op = new Operator(Client);
        await CreateVm(ns, "web", RunStrategies.Always);

        var vmi = await Eventually(() => Vmi(ns, "web"), v => v is not null, "the instance");
        var vm = (await Vm(ns, "web"))!;
        var owner = Assert.Single(vmi!.Metadata.OwnerReferences);
        Assert.Equal((VirtualMachine.KindName, vm.Metadata.Uid, true), (owner.Kind, owner.Uid, owner.Controller));
        Assert.Equal("web", vmi.Metadata.Labels["app"]);
        Assert.Equal("web", vmi.Metadata.Labels[VirtualMachineController.VmLabel]);
        Assert.Equal("128Mi", vmi.Spec.Domain!.Memory!.Guest);
        vm = await Eventually(() => Vm(ns, "web"), v => v?.Status?.Created == true, "status.created");
        Assert.Equal(PrintableStatuses.Starting, vm!.Status!.PrintableStatus);
        Assert.Contains(VirtualMachineController.Finalizer, vm.Metadata.Finalizers);

        await Patch(ns, "web", """{"spec":{"runStrategy":"Halted"}}""");
        await Eventually(() => Vmi(ns, "web"), v => v is null, "the instance to be deleted");
        vm = await Eventually(() => Vm(ns, "web"), v => v?.Status?.PrintableStatus == PrintableStatuses.Stopped, "printableStatus Stopped");
        Assert.False(vm!.Status!.Created);
    }

    [Fact]
    public async Task ManualObeysStartAndStopRequestsAndConsumesThem()
    {
        string ns = await Namespace("vmc-manual");
        await using var op = new Operator(Client);
        await CreateVm(ns, "box", RunStrategies.Manual);
        await Eventually(() => Vm(ns, "box"), v => v?.Status?.PrintableStatus == PrintableStatuses.Stopped, "Stopped");
        Assert.Null(await Vmi(ns, "box"));

        await Patch(ns, "box", """{"status":{"stateChangeRequests":[{"action":"Start"}]}}""", status: true);
        await Eventually(() => Vmi(ns, "box"), v => v is not null, "a started instance");
        await Eventually(() => Vm(ns, "box"), v => v?.Status?.StateChangeRequests is null, "the start request consumed");

        var uid = (await Vmi(ns, "box"))!.Metadata.Uid;
        await Patch(ns, "box", $$$"""{"status":{"stateChangeRequests":[{"action":"Stop","uid":"{{{uid}}}"}]}}""", status: true);
        await Eventually(() => Vmi(ns, "box"), v => v is null, "the instance stopped");
        await Eventually(() => Vm(ns, "box"), v => v?.Status?.StateChangeRequests is null && v?.Status?.PrintableStatus == PrintableStatuses.Stopped, "the stop consumed");
    }

    [Fact]
    public async Task AFailedInstanceUnderAlwaysIsReplacedByANewOne()
    {
        string ns = await Namespace("vmc-replace");
        await using var op = new Operator(Client);
        await CreateVm(ns, "crashy", RunStrategies.Always);
        var first = await Eventually(() => Vmi(ns, "crashy"), v => v is not null, "the instance");
        await Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch("""{"status":{"phase":"Failed"}}""", V1Patch.PatchType.MergePatch),
            ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstances", "crashy", cancellationToken: Ct);
        await Eventually(() => Vmi(ns, "crashy"), v => v is not null && v.Metadata.Uid != first!.Metadata.Uid, "a new instance");
    }

    [Fact]
    public async Task DeletingTheVmTakesItsInstanceAndTheFinalizerIsReleased()
    {
        string ns = await Namespace("vmc-delete");
        await using var op = new Operator(Client);
        await CreateVm(ns, "temp", RunStrategies.Always);
        await Eventually(() => Vmi(ns, "temp"), v => v is not null, "the instance");
        await Eventually(() => Vm(ns, "temp"), v => v?.Metadata.Finalizers?.Contains(VirtualMachineController.Finalizer) == true, "the finalizer");
        await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, "virtualmachines", "temp", cancellationToken: Ct);
        await Eventually(() => Vmi(ns, "temp"), v => v is null, "the instance deleted");
        await Eventually(() => Vm(ns, "temp"), v => v is null, "the VM gone (finalizer released)");
    }

    [Fact]
    public async Task AnOperatorRestartedMidwayConvergesWithoutDuplicates()
    {
        string ns = await Namespace("vmc-restart");
        await using (var first = new Operator(Client))
        {
            await CreateVm(ns, "steady", RunStrategies.Always);
            await Eventually(() => Vmi(ns, "steady"), v => v is not null, "the instance");
        }
        var uid = (await Vmi(ns, "steady"))!.Metadata.Uid;
        await using var second = new Operator(Client);
        await second.Vms.Synced;
        await Eventually(() => Task.FromResult(second.Controller.Controller.Reconciles), n => n >= 1, "the new operator to look at the VM");
        await Task.Delay(500, Ct);
        var list = (JsonElement)await Client.CustomObjects.ListNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstances", cancellationToken: Ct);
        Assert.Equal(1, list.GetProperty("items").GetArrayLength());
        Assert.Equal(uid, (await Vmi(ns, "steady"))!.Metadata.Uid);   // the same instance, not a replacement
    }
}
