namespace Podvisor.Api;

/// <summary>The labels and annotations by which launcher pods are found (KubeVirt's <c>kubevirt.io/created-by</c> and friends).</summary>
public static class LauncherLabels
{
    /// <summary>"launcher" on every pod the operator creates for a VMI.</summary>
    public const string Component = "podvisor.io/component";
    public const string LauncherComponent = "launcher";

    /// <summary>The VMI's name (labels are how Services select a VM's pod).</summary>
    public const string Vmi = "podvisor.io/vmi";

    /// <summary>The uid of the VMI instance the pod runs: a recreated VMI with the same name never adopts an old pod.</summary>
    public const string CreatedBy = "podvisor.io/created-by";

    /// <summary>The selector of every launcher pod.</summary>
    public const string Selector = Component + "=" + LauncherComponent;

    /// <summary>The container that runs the VMM.</summary>
    public const string ComputeContainer = "compute";

    /// <summary>The name of the compute container's control API port.</summary>
    public const string ControlPortName = "control";

    /// <summary>The Secret holding a VMI's control token (made by the operator, owned by the VMI).</summary>
    public static string ControlSecretName(string vmiUid) => $"podvisor-control-{vmiUid}";
}
