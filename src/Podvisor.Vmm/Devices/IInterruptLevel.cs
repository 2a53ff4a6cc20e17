namespace Podvisor.Vmm.Devices;

/// <summary>
/// An interrupt line driven as a level, as an ISA device's INTR pin is: high while the device has a
/// condition pending. An edge-triggered interrupt controller sees an interrupt when the line rises; a
/// condition that arrives while the line is already high raises nothing new (it is served in the same pass).
/// </summary>
public interface IInterruptLevel
{
    void Set(bool asserted);
}
