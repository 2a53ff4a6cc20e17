using Iced.Intel;
using Podvisor.Kvm.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Podvisor.Kvm.Tests;

/// <summary>irqfd, IRQ lines and GSI routing into the in-kernel PIC, counted by a real-mode guest.</summary>
[Trait("Category", "Kvm")]
public sealed class InterruptTests
{
    private const int Irq = 5;
    private const byte VectorBase = 0x20;
    private const ushort CounterAddress = 0x600;
    private const ushort HandlerAddress = 0x1800;

    /// <summary>Programs the master PIC (vector base 0x20, only IRQ 5 open), installs an IVT handler that
    /// counts interrupts and reports the count on port 0x11 (see <see cref="Handler"/>), reports "ready" on
    /// port 0x10, then halts with interrupts open, forever.</summary>
    private static void CountingGuest(Assembler a)
    {
        var loop = a.CreateLabel();
        a.cli();
        a.xor(ax, ax);
        a.mov(ds, ax);
        a.mov(__word_ptr[CounterAddress], 0);
        a.mov(__word_ptr[(VectorBase + Irq) * 4], HandlerAddress);
        a.mov(__word_ptr[(VectorBase + Irq) * 4 + 2], 0);
        a.mov(al, 0x11); a.@out(0x20, al);             // ICW1: edge, cascade, ICW4 follows
        a.mov(al, VectorBase); a.@out(0x21, al);       // ICW2: vector base
        a.mov(al, 0x04); a.@out(0x21, al);             // ICW3: slave on IRQ2
        a.mov(al, 0x01); a.@out(0x21, al);             // ICW4: 8086 mode
        a.mov(al, unchecked((byte)~(1 << Irq))); a.@out(0x21, al); // OCW1: unmask IRQ 5 only
        a.@out(0x10, al);
        a.Label(ref loop);
        // The handler reports, not the code after hlt: reporting after hlt relies on sti's shadow holding an
        // interrupt until hlt starts, and one taken just before hlt would return to hlt and go unreported
        // (a CI run inside the emulated host once waited here for 30 s).
        a.sti();
        a.hlt();
        a.jmp(loop);
    }

    /// <summary>The interrupt handler, placed at <see cref="HandlerAddress"/>: count, EOI, report, return.</summary>
    private static void Handler(Assembler a)
    {
        a.inc(__word_ptr[CounterAddress]);
        a.mov(al, 0x20); a.@out(0x20, al);             // EOI
        a.mov(ax, __word_ptr[CounterAddress]);
        a.@out(0x11, ax);
        a.iret();
    }

    private static TestGuest StartCountingGuest()
    {
        var guest = new TestGuest(GuestMode.Real, CountingGuest, irqchip: true);
        guest.Memory.Write(HandlerAddress, GuestCode.Assemble(GuestMode.Real, HandlerAddress, Handler));
        return guest;
    }

    [Fact]
    public void IrqfdInterruptIsCountedByTheGuest()
    {
        using var guest = StartCountingGuest();
        using var irqfd = new EventFd();
        guest.Vm.AddIrqfd(irqfd, Irq);

        Assert.Equal("out 10 DF", guest.NextExit());
        irqfd.Write();
        Assert.Equal("out 11 0100", guest.NextExit());
        irqfd.Write();
        Assert.Equal("out 11 0200", guest.NextExit());

        guest.Vm.RemoveIrqfd(irqfd, Irq);
    }

    [Fact]
    public void IrqLineEdgeIsCountedByTheGuest()
    {
        using var guest = StartCountingGuest();
        Assert.Equal("out 10 DF", guest.NextExit());
        guest.Vm.SetIrqLine(Irq, true);
        guest.Vm.SetIrqLine(Irq, false);
        Assert.Equal("out 11 0100", guest.NextExit());
        guest.Vm.SetIrqLine(Irq, true);
        guest.Vm.SetIrqLine(Irq, false);
        Assert.Equal("out 11 0200", guest.NextExit());
    }

    [Fact]
    public void GsiRoutingSendsAnotherGsiToThePicPin()
    {
        using var guest = StartCountingGuest();
        const uint gsi = 40;
        guest.Vm.SetGsiRouting([
            Abi.KvmIrqRoutingEntry.ToIrqchip(gsi, Abi.KvmIrqRoutingEntry.IrqchipPicMaster, Irq),
        ]);
        using var irqfd = new EventFd();
        guest.Vm.AddIrqfd(irqfd, gsi);

        Assert.Equal("out 10 DF", guest.NextExit());
        irqfd.Write();
        Assert.Equal("out 11 0100", guest.NextExit());
    }
}
