using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Api.Control;
using Podvisor.Operator.Launcher;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator.Controllers;

/// <summary>
/// Gives each VirtualMachineInstance its launcher pod and keeps the VMI's status in step with that pod
/// (<see cref="VmiStatusPolicy"/>). Before creating a pod it checks what the API server cannot: the spec's
/// semantic validation and that every PersistentVolumeClaim exists; either failure leaves the VMI Pending with
/// Synchronized=False saying why. A finalizer makes a deleted VMI take its pods with it (no garbage collector
/// needed), and expectations stop a lagging pod cache from ever creating a second pod.
/// </summary>
public sealed class VirtualMachineInstanceController
{
    public const string Finalizer = "podvisor.io/virtualmachineinstance-controller";
    private const string VmiPlural = "virtualmachineinstances";

    /// <summary>How soon a VMI waiting for a missing PVC looks again.</summary>
    public static readonly TimeSpan PvcRecheck = TimeSpan.FromSeconds(5);

    private readonly IKubernetes _client;
    private readonly Informer<VirtualMachineInstance> _vmis;
    private readonly Informer<V1Pod> _pods;
    private readonly LauncherPodOptions _options;
    private readonly ILauncherClient _launchers;
    private readonly Expectations _expectations = new();
    private readonly EventRecorder _events;
    private readonly TimeProvider _time;
    private readonly Action<string>? _log;

    public VirtualMachineInstanceController(IKubernetes client, Informer<VirtualMachineInstance> vmis, Informer<V1Pod> pods,
        EventRecorder events, LauncherPodOptions options, ILauncherClient launchers, Action<string>? log = null, int workers = 2, TimeProvider? time = null)
    {
        _launchers = launchers;
        _client = client;
        _vmis = vmis;
        _pods = pods;
        _events = events;
        _options = options;
        _log = log;
        _time = time ?? TimeProvider.System;
        Controller = new Controller("virtualmachineinstance", ReconcileAsync, workers, log);
        vmis.Changed += Controller.Enqueue;
        pods.ObjectChanged += pod =>
        {
            if (VmiKeyOf(pod) is not { } key) return;
            _expectations.Observed(key, pods.ByIndex(key).Count > 0);
            Controller.Enqueue(key);
        };
    }

    public Controller Controller { get; }

    /// <summary>The index of the pod informer this controller needs: a launcher pod filed under its VMI's key.</summary>
    public static string? VmiKeyOf(V1Pod pod) =>
        pod.Metadata.Labels?.TryGetValue(LauncherLabels.Vmi, out string? name) == true ? ObjectKey.Of(pod.Metadata.NamespaceProperty, name) : null;

    private static string? CreatedBy(V1Pod pod) =>
        pod.Metadata.Labels is { } labels && labels.TryGetValue(LauncherLabels.CreatedBy, out string? uid) ? uid : null;

    public async Task<ReconcileResult> ReconcileAsync(string key, CancellationToken cancellationToken)
    {
        if (!_vmis.TryGet(key, out var vmi) || vmi is null)
        {
            _expectations.Delete(key);
            return ReconcileResult.Done;
        }
        if (!_expectations.Satisfied(key)) return ReconcileResult.After(TimeSpan.FromSeconds(1));
        // Pods of an earlier VMI with the same name are not this one's.
        var pods = _pods.ByIndex(key).Where(p => CreatedBy(p) == vmi.Metadata.Uid).ToList();

        if (vmi.Metadata.DeletionTimestamp is not null)
        {
            foreach (var pod in pods.Where(p => p.Metadata.DeletionTimestamp is null)) await DeletePodAsync(vmi, pod, cancellationToken);
            if (pods.Count == 0 && Finalizers.Has(vmi.Metadata, Finalizer))
            {
                await DeleteControlSecretAsync(vmi, cancellationToken);
                await Finalizers.RemoveAsync(_client, VmiPlural, vmi.Metadata, Finalizer, cancellationToken);
            }
            return ReconcileResult.Done;                 // each pod's disappearance comes back through the informer
        }
        if (!Finalizers.Has(vmi.Metadata, Finalizer))
        {
            await Finalizers.AddAsync(_client, VmiPlural, vmi.Metadata, Finalizer, cancellationToken);
            return ReconcileResult.Done;
        }

        var observation = VmiStatusPolicy.Observe(vmi, pods, null, _time.GetUtcNow());
        VmiPodProblem? problem = null;
        if (observation.NeedsPod)
        {
            problem = await CreatePodAsync(vmi, cancellationToken);
            if (problem is not null) observation = VmiStatusPolicy.Observe(vmi, pods, problem, _time.GetUtcNow());
        }
        var pauseRetry = await ReconcilePauseAsync(vmi, pods, observation.Status, cancellationToken);
        await WriteStatusAsync(vmi, observation.Status, cancellationToken);
        if (pauseRetry is { } retry) return retry;
        return problem?.Reason == ConditionReasons.PvcNotFound ? ReconcileResult.After(PvcRecheck) : ReconcileResult.Done;
    }

    /// <summary>How soon a pause or resume that could not be carried out is tried again.</summary>
    public static readonly TimeSpan PauseRetry = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Brings a running VM to the pause its annotation asks for (<see cref="VmiAnnotations.Paused"/>) through its launcher,
    /// and records the outcome in <paramref name="status"/> as the Paused condition. Waits while a migration is in flight
    /// (the launcher refuses then) or the launcher pod is not running; a refusal is an event and is tried again.
    /// </summary>
    private async Task<ReconcileResult?> ReconcilePauseAsync(VirtualMachineInstance vmi, List<V1Pod> pods, VirtualMachineInstanceStatus status,
        CancellationToken cancellationToken)
    {
        if (status.Phase != VmiPhases.Running || vmi.Metadata.DeletionTimestamp is not null) return null;
        bool wanted = VmiAnnotations.PauseRequested(vmi);
        var conditions = status.Conditions ??= [];
        if (wanted == Conditions.IsTrue(conditions, ConditionTypes.Paused)) return null;
        var pod = MigrationPolicy.CurrentPod(vmi, pods);
        // A paused launcher reports itself not ready: a running pod is enough to resume it.
        if (MigrationPolicy.InFlight(vmi) || pod is not { Status.Phase: "Running" }) return ReconcileResult.After(PauseRetry);
        string? refused;
        try
        {
            refused = await _launchers.SetPausedAsync(pod, await LauncherCredentials.ReadAsync(_client, vmi, cancellationToken), wanted, cancellationToken);
        }
        catch (LauncherUnreachableException e)
        {
            refused = e.Message;
        }
        if (refused is not null)
        {
            await _events.RecordAsync(vmi, EventRecorder.Warning, wanted ? "PauseFailed" : "UnpauseFailed", $"cannot {(wanted ? "pause" : "unpause")}: {refused}", cancellationToken);
            return ReconcileResult.After(PauseRetry);
        }
        if (wanted)
        {
            Conditions.Set(conditions, ConditionTypes.Paused, Conditions.True, ConditionReasons.PausedByUser, "paused at a user's request", _time.GetUtcNow());
            // The launcher's readiness follows on its own; say why at once rather than after the kubelet's next probe.
            Conditions.Set(conditions, ConditionTypes.Ready, Conditions.False, ConditionReasons.PausedByUser, VmiStatusPolicy.PausedMessage, _time.GetUtcNow());
        }
        else Conditions.Remove(conditions, ConditionTypes.Paused);
        await _events.RecordAsync(vmi, EventRecorder.Normal, wanted ? "Paused" : "Unpaused", wanted ? "The VM was paused" : "The VM was resumed", cancellationToken);
        return null;
    }

    /// <summary>Validates, looks up the PVCs, creates the pod; returns why it could not, or null.</summary>
    private async Task<VmiPodProblem?> CreatePodAsync(VirtualMachineInstance vmi, CancellationToken cancellationToken)
    {
        string ns = vmi.Metadata.NamespaceProperty, key = ObjectKey.Of(vmi);
        var defaulted = ApiCopies.DeepCopy(vmi, ApiJsonContext.Default.VirtualMachineInstance);
        ApiDefaults.Apply(defaulted);
        if (ApiValidation.Validate(defaulted) is { Count: > 0 } errors)
            return new(ConditionReasons.InvalidSpec, string.Join("; ", errors.Select(e => e.ToString())));

        var (claims, missing) = await ClaimLookup.ReadAsync(_client, defaulted, cancellationToken);
        if (missing is not null) return new(ConditionReasons.PvcNotFound, $"PersistentVolumeClaim {ns}/{missing} not found");

        var pod = LauncherPodBuilder.Build(defaulted, _options, ClaimLookup.BlockModes(claims));
        _expectations.Expect(key, adds: 1);
        try
        {
            await EnsureControlSecretAsync(vmi, cancellationToken);
            var created = await _client.CoreV1.CreateNamespacedPodAsync(pod, ns, cancellationToken: cancellationToken);
            await _events.RecordAsync(vmi, EventRecorder.Normal, "SuccessfulCreate", $"Created launcher pod {created.Metadata.Name}", cancellationToken);
            return null;
        }
        catch (HttpOperationException e)
        {
            _expectations.Observed(key, exists: true);   // nothing will come: do not wait for it
            string message = $"the API server refused the launcher pod: {ApiErrorMessage(e)}";
            await _events.RecordAsync(vmi, EventRecorder.Warning, "FailedCreate", message, cancellationToken);
            return new(ConditionReasons.FailedCreate, message);
        }
    }

    /// <summary>
    /// The launcher's control token: a Secret per VMI, made before its first pod (a pod of the same VMI made
    /// later — after a failed create — finds it there), owned by the VMI and deleted with it by the finalizer.
    /// </summary>
    private async Task EnsureControlSecretAsync(VirtualMachineInstance vmi, CancellationToken cancellationToken)
    {
        var secret = new V1Secret
        {
            ApiVersion = "v1", Kind = "Secret", Type = "Opaque",
            Metadata = new V1ObjectMeta
            {
                Name = LauncherPodBuilder.ControlSecretName(vmi), NamespaceProperty = vmi.Metadata.NamespaceProperty,
                Labels = new Dictionary<string, string> { [LauncherLabels.Vmi] = vmi.Metadata.Name, [LauncherLabels.CreatedBy] = vmi.Metadata.Uid },
                OwnerReferences = [LauncherPodBuilder.OwnedBy(vmi)],
            },
            // The token the launcher demands, and the certificate it serves (from a CA of this VMI's alone: the operator
            // checks a launcher's certificate against it before it sends the token).
            Data = new Dictionary<string, byte[]>(ControlCertificates.Create(ObjectKey.Of(vmi)).ToSecretData())
            {
                [LauncherPaths.ControlTokenKey] = System.Text.Encoding.ASCII.GetBytes(Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ToLowerInvariant()),
            },
        };
        // Made by an earlier attempt for this VMI (the name carries its uid)? Then that token stands.
        await OwnedObjects.CreateSecretUnlessPresentAsync(_client, secret, cancellationToken);
    }

    private Task DeleteControlSecretAsync(VirtualMachineInstance vmi, CancellationToken cancellationToken) =>
        OwnedObjects.DeleteSecretIfPresentAsync(_client, vmi.Metadata.NamespaceProperty, LauncherPodBuilder.ControlSecretName(vmi), cancellationToken);

    private async Task DeletePodAsync(VirtualMachineInstance vmi, V1Pod pod, CancellationToken cancellationToken)
    {
        if (await OwnedObjects.DeletePodAsync(_client, pod, cancellationToken))
            await _events.RecordAsync(vmi, EventRecorder.Normal, "SuccessfulDelete", $"Deleted launcher pod {pod.Metadata.Name}", cancellationToken);
    }

    private async Task WriteStatusAsync(VirtualMachineInstance vmi, VirtualMachineInstanceStatus status, CancellationToken cancellationToken)
    {
        if (VmiStatusPolicy.Same(vmi.Status, status)) return;
        string? oldPhase = vmi.Status?.Phase;
        var updated = new VirtualMachineInstance { Metadata = vmi.Metadata, Spec = vmi.Spec, Status = status };
        try
        {
            // A replace with the cached resourceVersion: a status someone else changed meanwhile is never overwritten (409, retried).
            await _client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync(
                JsonSerializer.SerializeToElement(updated, ApiJsonContext.Default.VirtualMachineInstance),
                ApiGroup.Group, ApiGroup.Version, vmi.Metadata.NamespaceProperty, VmiPlural, vmi.Metadata.Name, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Our cache is behind (often: behind our own last write). The newer version is on its way through the
            // informer, which queues this key again; the status is recomputed from it then.
            return;
        }
        if (status.Phase != oldPhase && status.Phase == VmiPhases.Failed)
        {
            var ready = Conditions.Find(status.Conditions, ConditionTypes.Ready);
            await _events.RecordAsync(vmi, EventRecorder.Warning, status.Reason ?? "Failed", ready?.Message ?? "the VMI failed", cancellationToken);
        }
    }

    /// <summary>The message of a Kubernetes Status body, else the HTTP error.</summary>
    private static string ApiErrorMessage(HttpOperationException e)
    {
        try
        {
            if (e.Response.Content is { Length: > 0 } body && JsonDocument.Parse(body).RootElement.TryGetProperty("message", out var message))
                return message.GetString() ?? e.Message;
        }
        catch (JsonException) { }
        return e.Message;
    }
}
