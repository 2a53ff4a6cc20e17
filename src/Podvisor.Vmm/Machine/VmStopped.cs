namespace Podvisor.Vmm.Machine;

/// <summary>How a VM ended: the reason, a human detail line, and the process exit code it maps to.</summary>
public sealed record VmStopped(StopReason Reason, string Detail)
{
    public int ExitCode => Reason switch
    {
        StopReason.GuestPowerOff or StopReason.GuestReset or StopReason.HostRequest or StopReason.Migrated => 0,
        StopReason.TripleFault => 2,
        _ => 1,
    };
}
