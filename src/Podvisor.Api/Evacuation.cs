namespace Podvisor.Api;

/// <summary>
/// Names for moving VMs off a node being drained: the taint that asks for it (KubeVirt's <c>kubevirt.io/drain</c>, under
/// our group), and the marks on the migrations the operator makes for it.
/// </summary>
public static class Evacuation
{
    /// <summary>A NoSchedule or NoExecute taint with this key drains the node (as cordoning it does).</summary>
    public const string DrainTaint = "podvisor.io/drain";

    /// <summary>Label on a migration the operator made to evacuate a node ("true").</summary>
    public const string MigrationLabel = "podvisor.io/evacuation";

    /// <summary>Annotation on such a migration: the node it moves the VM off.</summary>
    public const string NodeAnnotation = "podvisor.io/evacuation-node";

    /// <summary><see cref="LauncherLabels.Component"/> of a VMI's PodDisruptionBudget (which also carries the VMI's name and uid labels).</summary>
    public const string BudgetComponent = "disruption-budget";

    public const string BudgetSelector = LauncherLabels.Component + "=" + BudgetComponent;

    /// <summary>The PodDisruptionBudget that keeps a drain from evicting a VMI's launcher pods.</summary>
    public static string BudgetName(string vmiUid) => $"podvisor-disruption-budget-{vmiUid}";
}
