namespace Podvisor.Launcher;

/// <summary>What the control API can do to the VM this launcher runs.</summary>
public interface IVmControl
{
    VmStatus Status { get; }

    /// <summary>Pauses every vCPU; false if the VM is not running.</summary>
    bool Pause();

    /// <summary>Resumes a paused VM; false if it is not paused.</summary>
    bool Unpause();

    /// <summary>Asks the guest to shut down (ACPI power button); false if nothing in the guest listens to it.</summary>
    bool RequestShutdown();

    /// <summary>Stops the VM now, as pulling the plug does.</summary>
    void Stop();
}
