namespace Podvisor.Vmm.Devices;

/// <summary>An edge-triggered interrupt line into the guest (an ISA IRQ, an irqfd, a test counter).</summary>
public interface IInterruptLine
{
    void Trigger();
}
