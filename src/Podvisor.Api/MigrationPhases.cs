namespace Podvisor.Api;

/// <summary>The phases of a VirtualMachineInstanceMigration (KubeVirt's).</summary>
public static class MigrationPhases
{
    public const string Pending = "Pending", Scheduling = "Scheduling", Scheduled = "Scheduled", PreparingTarget = "PreparingTarget",
        TargetReady = "TargetReady", Running = "Running", Succeeded = "Succeeded", Failed = "Failed";
}
