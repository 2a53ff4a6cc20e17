using System.Text.Json;
using k8s;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Operator.Controllers;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator.Tests;

/// <summary>The VirtualMachine controller against a real API server, with the instance controller beside it (no nodes: launcher pods stay pending).</summary>
public sealed class VirtualMachineControllerTests(CrdApiServerFixture fixture) : IClassFixture<CrdApiServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly Cluster _cluster = new(fixture.Client);

    private static Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> condition, string what) => Cluster.Eventually(read, condition, what);

    private Task<string> Namespace(string name) => _cluster.Namespace(name);

    private Task CreateVm(string ns, string name, string strategy) => _cluster.CreateVm(ns, name, strategy);

    private Task<VirtualMachine?> Vm(string ns, string name) => _cluster.Vm(ns, name);

    private Task<VirtualMachineInstance?> Vmi(string ns, string name) => _cluster.Vmi(ns, name);

    private Task Patch(string ns, string name, string json, bool status = false) => _cluster.PatchVm(ns, name, json, status);

    [Fact]
    public async Task AlwaysCreatesAnOwnedInstanceAndHaltedRemovesIt()
    {
        string ns = await Namespace("vmc-always");
        await using var op = new InProcessOperator(fixture.Client);
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
        await using var op = new InProcessOperator(fixture.Client);
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
        await using var op = new InProcessOperator(fixture.Client);
        await CreateVm(ns, "crashy", RunStrategies.Always);
        var first = await Eventually(() => Vmi(ns, "crashy"), v => v is not null, "the instance");
        await fixture.Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch("""{"status":{"phase":"Failed"}}""", V1Patch.PatchType.MergePatch),
            ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstances", "crashy", cancellationToken: Ct);
        await Eventually(() => Vmi(ns, "crashy"), v => v is not null && v.Metadata.Uid != first!.Metadata.Uid, "a new instance");
    }

    [Fact]
    public async Task DeletingTheVmTakesItsInstanceAndTheFinalizerIsReleased()
    {
        string ns = await Namespace("vmc-delete");
        await using var op = new InProcessOperator(fixture.Client);
        await CreateVm(ns, "temp", RunStrategies.Always);
        await Eventually(() => Vmi(ns, "temp"), v => v is not null, "the instance");
        await Eventually(() => Vm(ns, "temp"), v => v?.Metadata.Finalizers?.Contains(VirtualMachineController.Finalizer) == true, "the finalizer");
        await fixture.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, "virtualmachines", "temp", cancellationToken: Ct);
        await Eventually(() => Vmi(ns, "temp"), v => v is null, "the instance deleted");
        await Eventually(() => Vm(ns, "temp"), v => v is null, "the VM gone (finalizer released)");
    }

    [Fact]
    public async Task AnOperatorRestartedMidwayConvergesWithoutDuplicates()
    {
        string ns = await Namespace("vmc-restart");
        await using (var first = new InProcessOperator(fixture.Client))
        {
            await CreateVm(ns, "steady", RunStrategies.Always);
            await Eventually(() => Vmi(ns, "steady"), v => v is not null, "the instance");
        }
        var uid = (await Vmi(ns, "steady"))!.Metadata.Uid;
        await using var second = new InProcessOperator(fixture.Client);
        await second.Vms.Synced;
        await Eventually(() => Task.FromResult(second.VmController.Controller.Reconciles), n => n >= 1, "the new operator to look at the VM");
        await Task.Delay(500, Ct);
        var list = (JsonElement)await fixture.Client.CustomObjects.ListNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, "virtualmachineinstances", cancellationToken: Ct);
        Assert.Equal(1, list.GetProperty("items").GetArrayLength());
        Assert.Equal(uid, (await Vmi(ns, "steady"))!.Metadata.Uid);   // the same instance, not a replacement
    }
}
