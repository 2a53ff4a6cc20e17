namespace Podvisor.Operator.Controllers;

/// <summary>What the VirtualMachine controller does to bring the world in line with a VM.</summary>
public enum VmAction
{
    /// <summary>Nothing to change.</summary>
    None,
    /// <summary>Create the VM's VirtualMachineInstance from its template.</summary>
    CreateInstance,
    /// <summary>Delete the VM's VirtualMachineInstance (stop, or make room for a fresh one).</summary>
    DeleteInstance,
}
