namespace Podvisor.Api;

/// <summary>The values of <c>status.printableStatus</c> (KubeVirt's).</summary>
public static class PrintableStatuses
{
    public const string Stopped = "Stopped", Provisioning = "Provisioning", Starting = "Starting", Running = "Running",
        Paused = "Paused", Stopping = "Stopping", Terminating = "Terminating", Migrating = "Migrating",
        ErrorUnschedulable = "ErrorUnschedulable", ErrImagePull = "ErrImagePull", ImagePullBackOff = "ImagePullBackOff",
        ErrorPvcNotFound = "ErrorPvcNotFound", CrashLoopBackOff = "CrashLoopBackOff", Unknown = "Unknown";
}
