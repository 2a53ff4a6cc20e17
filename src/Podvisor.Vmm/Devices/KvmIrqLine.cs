using Podvisor.Kvm;

namespace Podvisor.Vmm.Devices;

/// <summary>
/// An ISA interrupt line of the in-kernel PIC/IOAPIC, driven as a level (KVM_IRQ_LINE only when it changes).
/// A line held high while the guest has the IOAPIC pin masked is delivered when it unmasks; a pulse would be
/// lost then (KVM drops a masked edge when the line falls).
/// </summary>
public sealed class KvmIrqLine(Vm vm, uint gsi) : IInterruptLevel
{
    private readonly Lock _lock = new();
    private bool _level;

    public void Set(bool asserted)
    {
        lock (_lock)
        {
            if (asserted == _level) return;
            _level = asserted;
            vm.SetIrqLine(gsi, asserted);
        }
    }
}
