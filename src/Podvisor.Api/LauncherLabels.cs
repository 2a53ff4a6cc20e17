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

    /// <summary>On a migration's target pod: the uid of the migration it receives the VM for.</summary>
    public const string MigrationTarget = "podvisor.io/migration-target";

    /// <summary>The name of a target pod's migration port (the source launcher connects there, mutual TLS).</summary>
    public const string MigrationPortName = "migration";

    /// <summary>The launcher's Prometheus endpoint (plain HTTP /metrics).</summary>
    public const string MetricsPortName = "metrics";

    /// <summary>The port a target launcher receives a migration on.</summary>
    public const int MigrationPort = 8444;

    /// <summary>The Secret holding a migration's TLS credentials (made by the operator, owned by the migration).</summary>
    public static string MigrationSecretName(string migrationUid) => $"podvisor-migration-{migrationUid}";

    /// <summary>The Secret holding a VMI's control token (made by the operator, owned by the VMI).</summary>
    public static string ControlSecretName(string vmiUid) => $"podvisor-control-{vmiUid}";
}
