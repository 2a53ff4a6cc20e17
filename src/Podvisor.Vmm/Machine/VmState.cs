namespace Podvisor.Vmm.Machine;

/// <summary>The VM lifecycle: Created → Running ⇄ Paused → Stopped.</summary>
public enum VmState
{
    Created,
    Running,
    Paused,
    Stopped,
}
