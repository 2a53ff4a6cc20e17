namespace Podvisor.Api;

/// <summary>The phases of a VirtualMachineInstanceMigration (KubeVirt's).</summary>
public static class MigrationPhases
{
    public const string Pending = "Pending", Scheduling = "Scheduling", Scheduled = "Scheduled", PreparingTarget = "PreparingTarget",
        TargetReady = "TargetReady", Running = "Running", Succeeded = "Succeeded", Failed = "Failed";

    /// <summary>Whether a migration in <paramref name="phase"/> is over (it will not change again).</summary>
    public static bool IsFinal(string? phase) => phase is Succeeded or Failed;
}
