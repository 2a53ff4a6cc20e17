using Podvisor.Kvm.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Podvisor.Kvm.Tests;

/// <summary>ioeventfd: guest writes signal an eventfd inside the kernel instead of exiting.</summary>
[Trait("Category", "Kvm")]
public sealed class IoeventfdTests
{
    [Fact]
    public void PortAndMmioWritesSignalWithoutExiting()
    {
        using var guest = new TestGuest(GuestMode.Long, a =>
        {
            a.mov(al, 1);
            a.@out(0x30, al);                                             // -> pio eventfd
            a.mov(__dword_ptr[(long)TestGuest.MmioAddress + 0x50], 7);   // -> mmio eventfd (datamatch 7)
            a.mov(__dword_ptr[(long)TestGuest.MmioAddress + 0x50], 8);   // no match: a normal MMIO exit
            a.hlt();
        });
        using var pio = new EventFd(nonBlocking: true);
        using var mmio = new EventFd(nonBlocking: true);
        guest.Vm.AddIoeventfd(pio, 0x30, 1, pio: true);
        guest.Vm.AddIoeventfd(mmio, TestGuest.MmioAddress + 0x50, 4, datamatch: 7);

        var exits = ExitLog.RunToHalt(guest.Vcpu);

        Assert.Equal(["mmio-write a0050 4 08000000", "hlt"], exits);
        Assert.Equal(1UL, pio.Read());
        Assert.Equal(1UL, mmio.Read());

        guest.Vm.RemoveIoeventfd(pio, 0x30, 1, pio: true);
        guest.Vm.RemoveIoeventfd(mmio, TestGuest.MmioAddress + 0x50, 4, datamatch: 7);
    }
}
