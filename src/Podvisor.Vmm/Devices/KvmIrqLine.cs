using Podvisor.Kvm;

namespace Podvisor.Vmm.Devices;

/// <summary>An ISA interrupt line of the in-kernel PIC/IOAPIC, pulsed for an edge.</summary>
public sealed class KvmIrqLine(Vm vm, uint gsi) : IInterruptLine
{
    public void Trigger()
    {
        vm.SetIrqLine(gsi, true);
        vm.SetIrqLine(gsi, false);
    }
}
