namespace Podvisor.Vmm.Machine;

/// <summary>What a guest reset does: end the VM (Firecracker's choice, the default) or boot it again.</summary>
public enum RebootPolicy
{
    Exit,
    Restart,
}
