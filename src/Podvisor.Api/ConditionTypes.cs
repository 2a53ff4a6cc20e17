namespace Podvisor.Api;

/// <summary>The condition types of VMIs (KubeVirt's names).</summary>
public static class ConditionTypes
{
    /// <summary>The guest runs and the launcher answers.</summary>
    public const string Ready = "Ready";

    /// <summary>Copied from the launcher pod: False with reason Unschedulable when no node fits.</summary>
    public const string PodScheduled = "PodScheduled";

    /// <summary>False when the operator cannot make the launcher pod (invalid spec, missing PVC, API error); the reason says which.</summary>
    public const string Synchronized = "Synchronized";

    public const string Paused = "Paused";
}
