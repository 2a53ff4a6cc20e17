namespace Podvisor.Api;

/// <summary>The phases of a VirtualMachineInstance (KubeVirt's).</summary>
public static class VmiPhases
{
    public const string Pending = "Pending", Scheduling = "Scheduling", Scheduled = "Scheduled", Running = "Running",
        Succeeded = "Succeeded", Failed = "Failed", Unknown = "Unknown";
}
