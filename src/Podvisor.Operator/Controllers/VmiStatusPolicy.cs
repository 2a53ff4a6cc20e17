using k8s.Models;
using Podvisor.Api;
using Podvisor.Operator.Launcher;
using Podvisor.Operator.Runtime;

namespace Podvisor.Operator.Controllers;

/// <summary>
/// A VMI's status as a pure function of the VMI and its launcher pod, as KubeVirt's virt-controller maps them:
/// <list type="bullet">
/// <item>no pod yet → Pending (the operator creates one);</item>
/// <item>pod waiting for a node, or for its containers → Scheduling (PodScheduled copied, so "Unschedulable" and its
/// message reach the VMI);</item>
/// <item>pod running, launcher not ready → Scheduled, with the node;</item>
/// <item>launcher ready (the guest runs) → Running, Ready=True, the pod IP on pod-network interfaces;</item>
/// <item>pod Succeeded (the guest shut down) → Succeeded; pod Failed, or gone while the VM started or ran → Failed
/// with the reason.</item>
/// </list>
/// Phases only move forward, and Succeeded/Failed are final: a VMI never runs twice (the VM controller makes a new one).
/// With migrations the VM's pod is <see cref="MigrationPolicy.CurrentPod"/>: the source until the migration completes,
/// the target after; while one is in flight the source's end says nothing about the VM.
/// </summary>
public static class VmiStatusPolicy
{
    /// <summary>Ready=False's message while the VM is paused.</summary>
    public const string PausedMessage = "the VM is paused";

    private static readonly string[] Order = [VmiPhases.Pending, VmiPhases.Scheduling, VmiPhases.Scheduled, VmiPhases.Running];

    /// <param name="pods">The VMI's launcher pods (normally one), from the cache.</param>
    /// <param name="problem">Why the pod could not be created, if the operator tried and failed.</param>
    public static VmiObservation Observe(VirtualMachineInstance vmi, IReadOnlyList<V1Pod> pods, VmiPodProblem? problem, DateTimeOffset now)
    {
        var old = vmi.Status ?? new VirtualMachineInstanceStatus();
        var status = ApiCopies.DeepCopy(old, ApiJsonContext.Default.VirtualMachineInstanceStatus);
        string current = string.IsNullOrEmpty(old.Phase) ? "" : old.Phase;
        var conditions = status.Conditions ?? [];
        if (current is VmiPhases.Succeeded or VmiPhases.Failed)
            return new(false, status);

        var pod = MigrationPolicy.CurrentPod(vmi, pods);
        string phase;
        string? reason = null;
        bool needsPod = false;
        if (MigrationPolicy.InFlight(vmi) && (pod is null || pod.Status?.Phase is "Succeeded" or "Failed"))
        {
            // The source ends when it hands the VM over (or is killed midway): the migration controller decides where the VM is.
            return new(false, status);
        }
        if (pod is null)
        {
            if (current is VmiPhases.Scheduling or VmiPhases.Scheduled or VmiPhases.Running)
            {
                phase = VmiPhases.Failed;
                reason = ConditionReasons.PodDeleted;
            }
            else
            {
                phase = VmiPhases.Pending;
                needsPod = vmi.Metadata.DeletionTimestamp is null;
            }
            Conditions.Remove(conditions, ConditionTypes.PodScheduled);
        }
        else
        {
            (phase, reason) = PhaseOf(pod);
            // A source that handed its VM over to a target that then never ran it: the VM is lost, not shut down.
            if (phase == VmiPhases.Succeeded && MigrationPolicy.HandedOver(pod)) (phase, reason) = (VmiPhases.Failed, ConditionReasons.MigrationLost);
            if (pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled") is { } scheduled)
                Conditions.Set(conditions, ConditionTypes.PodScheduled, scheduled.Status, scheduled.Reason, scheduled.Message, now);
            if (!string.IsNullOrEmpty(pod.Spec?.NodeName)) status.NodeName = pod.Spec.NodeName;
            // KubeVirt's map of pod uid → node, for pods that have one.
            var placed = pods.Where(p => !string.IsNullOrEmpty(p.Spec?.NodeName)).ToDictionary(p => p.Metadata.Uid, p => p.Spec.NodeName);
            status.ActivePods = placed.Count == 0 ? null : placed;
        }
        // Forward only: a launcher whose readiness flaps does not send a running VM back to Scheduled.
        if (phase is not (VmiPhases.Succeeded or VmiPhases.Failed or VmiPhases.Unknown) && Array.IndexOf(Order, current) > Array.IndexOf(Order, phase))
            phase = current;

        if (problem is not null) Conditions.Set(conditions, ConditionTypes.Synchronized, Conditions.False, problem.Reason, problem.Message, now);
        else Conditions.Remove(conditions, ConditionTypes.Synchronized);

        // A paused VM is not ready (its launcher says so too, at the kubelet's next probe): that is the pause, not a fault.
        bool paused = phase == VmiPhases.Running && Conditions.IsTrue(conditions, ConditionTypes.Paused);
        bool ready = pod is not null && phase == VmiPhases.Running && IsReady(pod) && !paused;
        if (ready) Conditions.Set(conditions, ConditionTypes.Ready, Conditions.True, null, null, now);
        else
        {
            var (why, message) = NotReadyReason(pod, phase, reason, paused);
            Conditions.Set(conditions, ConditionTypes.Ready, Conditions.False, why, message, now);
        }

        if (ready && pod!.Status?.PodIP is { Length: > 0 } podIp)
        {
            var addresses = pod.Status.PodIPs?.Select(a => a.Ip).ToList() is { Count: > 0 } all ? all : [podIp];
            // Masquerade and bridge both put the guest behind (or on) the pod's address.
            status.Interfaces = [.. (vmi.Spec.Domain?.Devices?.Interfaces ?? [])
                .Where(i => i.Masquerade is not null || i.Bridge is not null)
                .Select(i => new InterfaceStatus { Name = i.Name, IpAddress = podIp, IpAddresses = addresses, Mac = GuestMac.Of(i, vmi.Metadata.Uid ?? "") })];
        }

        status.Conditions = conditions;
        if (phase != current)
        {
            status.Phase = phase;
            status.PhaseTransitionTimestamps = [.. status.PhaseTransitionTimestamps ?? [], new PhaseTransition { Phase = phase, PhaseTransitionTimestamp = Conditions.TruncateToSeconds(now) }];
        }
        if (phase is VmiPhases.Failed or VmiPhases.Succeeded) status.Reason = reason;
        return new(needsPod, status);
    }

    /// <summary>True when nothing a reader sees differs (timestamps of unchanged conditions included).</summary>
    public static bool Same(VirtualMachineInstanceStatus? a, VirtualMachineInstanceStatus b) =>
        System.Text.Json.JsonSerializer.Serialize(a ?? new(), ApiJsonContext.Default.VirtualMachineInstanceStatus)
        == System.Text.Json.JsonSerializer.Serialize(b, ApiJsonContext.Default.VirtualMachineInstanceStatus);

    private static (string Phase, string? Reason) PhaseOf(V1Pod pod)
    {
        switch (pod.Status?.Phase)
        {
            case "Succeeded":
                return (VmiPhases.Succeeded, null);
            case "Failed":
                return (VmiPhases.Failed, ConditionReasons.PodFailed);
            case "Running":
                return (IsReady(pod) ? VmiPhases.Running : VmiPhases.Scheduled, null);
            case "Unknown":
                return (VmiPhases.Unknown, null);
            default:                                    // Pending: not bound yet, or pulling images and starting containers
                return (VmiPhases.Scheduling, null);
        }
    }

    /// <summary>The launcher's compute container is Ready: its guest runs.</summary>
    internal static bool IsReady(V1Pod pod) =>
        pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == LauncherLabels.ComputeContainer)?.Ready == true;

    /// <summary>Ready=False's reason: the kubelet's word when a container waits (ErrImagePull, CrashLoopBackOff…) or terminated.</summary>
    private static (string Reason, string? Message) NotReadyReason(V1Pod? pod, string phase, string? phaseReason, bool paused)
    {
        var containers = (pod?.Status?.InitContainerStatuses ?? []).Concat(pod?.Status?.ContainerStatuses ?? []);
        foreach (var container in containers)
        {
            if (container.State?.Waiting is { Reason: { Length: > 0 } waiting } w && waiting != "PodInitializing")
                return (waiting, $"container {container.Name}: {w.Message ?? waiting}");
            if (container.State?.Terminated is { ExitCode: not 0 } t)
                return (phaseReason ?? t.Reason ?? "Error",
                    $"container {container.Name} exited with code {t.ExitCode}{(t.Reason is null ? "" : $" ({t.Reason})")}{(t.Message is null ? "" : $": {t.Message}")}");
        }
        if (pod is null) return phase == VmiPhases.Failed
            ? (phaseReason ?? ConditionReasons.PodDeleted, "the launcher pod was deleted while the VM was starting or running")
            : (ConditionReasons.PodPending, "no launcher pod yet");
        if (pod.Status?.Reason is { Length: > 0 } podReason) return (podReason, pod.Status.Message);      // e.g. Evicted
        if (paused) return (ConditionReasons.PausedByUser, PausedMessage);
        return phase switch
        {
            VmiPhases.Succeeded => (VmiPhases.Succeeded, "the guest shut down"),
            VmiPhases.Failed => (phaseReason ?? ConditionReasons.PodFailed, "the launcher pod failed"),
            VmiPhases.Scheduling => (ConditionReasons.PodPending, string.IsNullOrEmpty(pod.Spec?.NodeName) ? "waiting for a node" : $"starting on {pod.Spec.NodeName}"),
            _ => (ConditionReasons.GuestNotRunning, "the launcher is starting the guest"),
        };
    }
}
