namespace Podvisor.Api;

/// <summary>
/// The defaults of the API, in one place (the operator applies them on admission-free clusters when it
/// first sees an object; <c>podvisor run</c> before it boots). Only fills what is unset; idempotent.
/// </summary>
public static class ApiDefaults
{
    public static void Apply(VirtualMachine vm)
    {
        var spec = vm.Spec;
        if (spec.RunStrategy is null && spec.Running is not null)
            spec.RunStrategy = spec.Running.Value ? RunStrategies.Always : RunStrategies.Halted;
        else if (spec.RunStrategy is null)
            spec.RunStrategy = RunStrategies.Halted;
        if (spec.Template?.Spec is { } instance) Apply(instance);
    }

    public static void Apply(VirtualMachineInstance vmi) => Apply(vmi.Spec);

    public static void Apply(VirtualMachineInstanceSpec spec)
    {
        if (spec.Domain is not { } domain) return;
        domain.Cpu ??= new CpuSpec();
        domain.Cpu.Sockets ??= 1;
        domain.Cpu.Cores ??= 1;
        domain.Cpu.Threads ??= 1;
        if (domain.GuestMemoryQuantity() is { } memory)
        {
            domain.Memory ??= new MemorySpec();
            domain.Memory.Guest ??= memory;
        }
        domain.Devices ??= new Devices();
        domain.Devices.AutoattachSerialConsole ??= true;
        domain.Devices.AutoattachMemBalloon ??= true;
        foreach (var disk in domain.Devices.Disks ?? [])
        {
            disk.DiskTarget ??= new DiskTarget();
            disk.DiskTarget.Bus ??= "virtio";
        }
        foreach (var nic in domain.Devices.Interfaces ?? []) nic.Model ??= "virtio";
        spec.EvictionStrategy ??= EvictionStrategies.None;
    }
}
