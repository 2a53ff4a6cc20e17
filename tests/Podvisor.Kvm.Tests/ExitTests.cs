using Iced.Intel;
using Podvisor.Kvm.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Podvisor.Kvm.Tests;

/// <summary>Port I/O, MMIO, guest memory and HLT in each CPU mode, with the exact exit data.</summary>
[Trait("Category", "Kvm")]
public sealed class ExitTests
{
    private static readonly string[] ExpectedExits =
    [
        "out 10 1 42",
        "out 11 2 3412",
        "in 12 1",
        "out 13 1 99",
        "out 14 1 5A",
        "mmio-write a0000 1 77",
        "mmio-write a0004 4 EFBEADDE",
        "mmio-read a0008 1",
        "out 15 1 66",
        "hlt",
    ];

    private static void Scenario(Assembler a, GuestMode mode)
    {
        a.mov(al, 0x42);
        a.@out(0x10, al);
        a.mov(ax, 0x1234);
        a.@out(0x11, ax);
        a.@in(al, 0x12);
        a.@out(0x13, al);
        a.mov(al, __byte_ptr[(long)TestGuest.DataAddress]);        // host wrote 0x5A there
        a.@out(0x14, al);
        a.mov(__byte_ptr[(long)TestGuest.DataAddress + 1], 0xA5);  // host reads it afterwards
        if (mode == GuestMode.Real)
        {
            a.mov(ax, (ushort)(TestGuest.MmioAddress >> 4));
            a.mov(ds, ax);
            a.mov(__byte_ptr[0], 0x77);
            a.mov(__dword_ptr[4], 0xDEADBEEF);
            a.mov(al, __byte_ptr[8]);
        }
        else
        {
            a.mov(__byte_ptr[(long)TestGuest.MmioAddress], 0x77);
            a.mov(__dword_ptr[(long)TestGuest.MmioAddress + 4], 0xDEADBEEF);
            a.mov(al, __byte_ptr[(long)TestGuest.MmioAddress + 8]);
        }
        a.@out(0x15, al);
        a.hlt();
    }

    [Theory]
    [InlineData(GuestMode.Real)]
    [InlineData(GuestMode.Protected)]
    [InlineData(GuestMode.Long)]
    public void GuestExitsCarryExactData(GuestMode mode)
    {
        using var guest = new TestGuest(mode, a => Scenario(a, mode));
        guest.Memory.WriteValue<byte>(TestGuest.DataAddress, 0x5A);

        var exits = ExitLog.RunToHalt(guest.Vcpu,
            portAnswers: new Dictionary<ushort, byte[]> { [0x12] = [0x99] },
            mmioAnswers: new Dictionary<ulong, byte[]> { [TestGuest.MmioAddress + 8] = [0x66] });

        Assert.Equal(ExpectedExits, exits);
        Assert.Equal(0xA5, guest.Memory.ReadValue<byte>(TestGuest.DataAddress + 1));
    }

    [Fact]
    public void RepOutsCarriesEveryElement()
    {
        using var guest = new TestGuest(GuestMode.Long, a =>
        {
            a.mov(rsi, (long)TestGuest.DataAddress);
            a.mov(ecx, 4);
            a.mov(dx, 0x20);
            a.rep.outsw();
            a.hlt();
        });
        guest.Memory.Write(TestGuest.DataAddress, [1, 2, 3, 4, 5, 6, 7, 8]);

        var exits = ExitLog.RunToHalt(guest.Vcpu);

        // KVM may split a string instruction into several exits; together they carry all 8 bytes in order.
        Assert.Equal("hlt", exits[^1]);
        var data = string.Concat(exits.SkipLast(1).Select(e => e.Split(' ')[3]));
        Assert.Equal("0102030405060708", data);
        Assert.All(exits.SkipLast(1), e => Assert.StartsWith("out 20 2 ", e));
    }

    [Fact]
    public void TripleFaultEndsInShutdown()
    {
        // No IDT: the #UD cannot be delivered, the #DF neither, and the CPU shuts down.
        using var guest = new TestGuest(GuestMode.Long, a => a.ud2());
        var sregs = guest.Vcpu.GetSregs();
        sregs.Idt = new Abi.KvmDtable { Base = 0, Limit = 0 };
        guest.Vcpu.SetSregs(sregs);

        Assert.Equal(["Shutdown"], ExitLog.RunToHalt(guest.Vcpu));
    }

    [Fact]
    public void WritesToAReadOnlySlotExitAsMmioAndReadsDoNot()
    {
        const ulong romAddress = 0x100000;
        using var rom = new HostMemory(0x1000);
        rom.WriteValue<uint>(0, 0x1234_5678);
        using var guest = new TestGuest(GuestMode.Long, a =>
        {
            a.mov(eax, __dword_ptr[(long)romAddress]);
            a.@out(0x10, eax);
            a.mov(__dword_ptr[(long)romAddress], 0x0BAD_F00D);
            a.hlt();
        }, beforeVcpu: vm => vm.SetMemorySlot(new MemorySlot(1, romAddress, rom, 0, 0x1000, MemorySlotFlags.ReadOnly)));

        var exits = ExitLog.RunToHalt(guest.Vcpu);

        Assert.Equal(["out 10 4 78563412", "mmio-write 100000 4 0DF0AD0B", "hlt"], exits);
        Assert.Equal(0x1234_5678u, rom.ReadValue<uint>(0));
    }
}
