using Podvisor.Kvm;

namespace Podvisor.Vmm.Devices;

/// <summary>An interrupt raised through KVM's irqfd: one eventfd write, no ioctl, from any thread.</summary>
public sealed class IrqfdLine(EventFd eventFd) : IInterruptLine
{
    public void Trigger() => eventFd.Write();
}
