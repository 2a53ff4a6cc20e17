using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator.Controllers;

/// <summary>
/// Keeps each VirtualMachine's instance as <see cref="VirtualMachinePolicy"/> decides: creates the
/// VirtualMachineInstance from the template (same name, owned by the VM), deletes it, consumes start/stop
/// requests, writes the VM's status, and holds a finalizer so a deleted VM takes its instance with it.
/// Idempotent: every pass starts from the caches, and expectations stop a lagging cache from causing a
/// second create.
/// </summary>
public sealed class VirtualMachineController
{
    public const string Finalizer = "podvisor.io/virtualmachine-controller";
    public const string VmLabel = "podvisor.io/vm";
    private const string VmPlural = "virtualmachines", VmiPlural = "virtualmachineinstances";

    private readonly IKubernetes _client;
    private readonly Informer<VirtualMachine> _vms;
    private readonly Informer<VirtualMachineInstance> _vmis;
    private readonly Expectations _expectations = new();
    private readonly EventRecorder _events;
    private readonly Action<string>? _log;

    public VirtualMachineController(IKubernetes client, Informer<VirtualMachine> vms, Informer<VirtualMachineInstance> vmis,
        EventRecorder events, Action<string>? log = null, int workers = 2)
    {
        _client = client;
        _vms = vms;
        _vmis = vmis;
        _events = events;
        _log = log;
        Controller = new Controller("virtualmachine", ReconcileAsync, workers, log);
        vms.Changed += Controller.Enqueue;
        vmis.Changed += key =>
        {
            _expectations.Observed(key, vmis.TryGet(key, out _));
            Controller.Enqueue(key);                     // an instance is named after its VM
        };
    }

    public Controller Controller { get; }

    public async Task<ReconcileResult> ReconcileAsync(string key, CancellationToken cancellationToken)
    {
        if (!_vms.TryGet(key, out var vm) || vm is null)
        {
            _expectations.Delete(key);
            return ReconcileResult.Done;
        }
        if (!_expectations.Satisfied(key)) return ReconcileResult.After(TimeSpan.FromSeconds(1));
        var (ns, name) = ObjectKey.Split(key);
        bool deleting = vm.Metadata.DeletionTimestamp is not null;
        if (!deleting && !Finalizers.Has(vm.Metadata, Finalizer))
        {
            await Finalizers.AddAsync(_client, VmPlural, vm.Metadata, Finalizer, cancellationToken);
            return ReconcileResult.Done;                 // the update comes back through the informer
        }

        _vmis.TryGet(key, out var vmi);
        var decision = VirtualMachinePolicy.Decide(vm, vmi);
        switch (decision.Action)
        {
            case VmAction.CreateInstance:
                await CreateInstanceAsync(vm, ns!, name, decision.Why, cancellationToken);
                break;
            case VmAction.DeleteInstance:
                await DeleteInstanceAsync(vm, vmi!, ns!, decision.Why, cancellationToken);
                break;
        }
        await WriteStatusAsync(vm, decision, cancellationToken);
        if (deleting && vmi is null && Finalizers.Has(vm.Metadata, Finalizer))
            await Finalizers.RemoveAsync(_client, VmPlural, vm.Metadata, Finalizer, cancellationToken);
        return ReconcileResult.Done;
    }

    private async Task CreateInstanceAsync(VirtualMachine vm, string ns, string name, string why, CancellationToken cancellationToken)
    {
        var template = vm.Spec.Template ?? throw new InvalidOperationException("the VM has no template");
        var labels = new Dictionary<string, string>(template.Metadata?.Labels ?? new Dictionary<string, string>()) { [VmLabel] = name };
        var vmi = new VirtualMachineInstance
        {
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = ns,
                Labels = labels,
                Annotations = template.Metadata?.Annotations,
                OwnerReferences =
                [
                    new V1OwnerReference
                    {
                        ApiVersion = ApiGroup.ApiVersion, Kind = VirtualMachine.KindName, Name = name, Uid = vm.Metadata.Uid,
                        Controller = true, BlockOwnerDeletion = true,
                    },
                ],
            },
            // A copy: the instance must not share objects with the cached VM.
            Spec = ApiCopies.DeepCopy(template.Spec ?? new(), ApiJsonContext.Default.VirtualMachineInstanceSpec),
        };
        _expectations.Expect(ObjectKey.Of(ns, name), adds: 1);
        try
        {
            await _client.CustomObjects.CreateNamespacedCustomObjectAsync(
                JsonSerializer.SerializeToElement(vmi, ApiJsonContext.Default.VirtualMachineInstance),
                ApiGroup.Group, ApiGroup.Version, ns, VmiPlural, cancellationToken: cancellationToken);
            await _events.RecordAsync(vm, EventRecorder.Normal, "SuccessfulCreate", $"Created VirtualMachineInstance {name} ({why})", cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            _expectations.Observed(ObjectKey.Of(ns, name), exists: true);   // it exists already; the cache will catch up
        }
        catch (HttpOperationException e)
        {
            _expectations.Observed(ObjectKey.Of(ns, name), exists: true);   // nothing will come: do not wait for it
            await _events.RecordAsync(vm, EventRecorder.Warning, "FailedCreate", $"Error creating VirtualMachineInstance {name}: {e.Response.Content}", cancellationToken);
            throw;
        }
    }

    private async Task DeleteInstanceAsync(VirtualMachine vm, VirtualMachineInstance vmi, string ns, string why, CancellationToken cancellationToken)
    {
        string name = vmi.Metadata.Name;
        _expectations.Expect(ObjectKey.Of(ns, name), deletes: 1);
        try
        {
            // Only the instance we decided about: a newer one with the same name is left alone.
            await _client.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, VmiPlural, name,
                new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = vmi.Metadata.Uid } }, cancellationToken: cancellationToken);
            await _events.RecordAsync(vm, EventRecorder.Normal, "SuccessfulDelete", $"Deleted VirtualMachineInstance {name} ({why})", cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            _expectations.Observed(ObjectKey.Of(ns, name), exists: false);
        }
        catch
        {
            _expectations.Observed(ObjectKey.Of(ns, name), exists: false);
            throw;
        }
    }

    private async Task WriteStatusAsync(VirtualMachine vm, VmDecision decision, CancellationToken cancellationToken)
    {
        var status = vm.Status ?? new VirtualMachineStatus();
        var requests = (status.StateChangeRequests ?? []).Skip(decision.RequestsDone).ToList();
        bool changed = status.PrintableStatus != decision.PrintableStatus || status.Created != decision.Created || status.Ready != decision.Ready
                       || decision.RequestsDone > 0 || status.ObservedGeneration != vm.Metadata.Generation;
        if (!changed) return;
        var patch = new JsonObject
        {
            ["status"] = new JsonObject
            {
                ["printableStatus"] = decision.PrintableStatus,
                ["created"] = decision.Created,
                ["ready"] = decision.Ready,
                ["observedGeneration"] = vm.Metadata.Generation,
                // A merge patch replaces a list whole: what is left of the requests, or null to drop the field.
                ["stateChangeRequests"] = requests.Count == 0 ? null : JsonSerializer.SerializeToNode(requests, typeof(List<StateChangeRequest>), ApiJsonContext.Default),
            },
        };
        var (ns, name) = (vm.Metadata.NamespaceProperty, vm.Metadata.Name);
        try
        {
            await _client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch),
                ApiGroup.Group, ApiGroup.Version, ns, VmPlural, name, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            _log?.Invoke($"{ns}/{name}: gone before its status was written");
        }
    }
}
