namespace Podvisor.Api;

/// <summary>Annotations users (through the CLI) put on a VirtualMachineInstance to ask the operator for something.</summary>
public static class VmiAnnotations
{
    /// <summary>"true": keep the VM paused (every vCPU stopped, memory and devices kept); removed: run it. The operator
    /// carries it out through the launcher and reports it as the Paused condition (KubeVirt's pause/unpause). A new
    /// instance (a restart) starts unpaused.</summary>
    public const string Paused = "podvisor.io/paused";

    public static bool PauseRequested(VirtualMachineInstance vmi) =>
        vmi.Metadata.Annotations?.TryGetValue(Paused, out string? value) == true && value == "true";
}
