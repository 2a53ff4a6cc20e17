using Podvisor.Kvm.Abi;
using Podvisor.Kvm.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Podvisor.Kvm.Tests;

/// <summary>Every vCPU state set that migration moves: set, (run,) get, compare.</summary>
[Trait("Category", "Kvm")]
public sealed class RegisterStateTests
{
    [Fact]
    public void GeneralRegistersSetRunGetRoundTrip()
    {
        using var guest = new TestGuest(GuestMode.Long, a =>
        {
            a.lea(rax, __[rbx + rcx]);
            a.mov(edx, 0x10);
            a.@out(dx, eax);
            a.hlt();
        });
        var regs = guest.Vcpu.GetRegs();
        regs.Rbx = 0x1111_0000_2222_0000; regs.Rcx = 0x0000_3333_0000_4444;
        regs.Rsi = 0x5555; regs.Rdi = 0x6666; regs.Rbp = 0x7777;
        regs.R8 = 8; regs.R9 = 9; regs.R10 = 10; regs.R11 = 11; regs.R12 = 12; regs.R13 = 13; regs.R14 = 14; regs.R15 = 15;
        guest.Vcpu.SetRegs(regs);

        Assert.Equal("out 10 44442222", guest.NextExit());
        Assert.Equal("Hlt", guest.NextExit());

        var after = guest.Vcpu.GetRegs();
        Assert.Equal(0x1111_3333_2222_4444UL, after.Rax);
        Assert.Equal(0x10UL, after.Rdx);
        Assert.Equal(regs.Rbx, after.Rbx);
        Assert.Equal(regs.Rcx, after.Rcx);
        Assert.Equal((regs.Rsi, regs.Rdi, regs.Rbp, regs.Rsp), (after.Rsi, after.Rdi, after.Rbp, after.Rsp));
        Assert.Equal((regs.R8, regs.R9, regs.R10, regs.R11, regs.R12, regs.R13, regs.R14, regs.R15),
            (after.R8, after.R9, after.R10, after.R11, after.R12, after.R13, after.R14, after.R15));
    }

    [Fact]
    public void SpecialRegistersRoundTrip()
    {
        using var guest = new TestGuest(GuestMode.Long, a => a.hlt());
        var sregs = guest.Vcpu.GetSregs();
        sregs.Gdt = new KvmDtable { Base = 0x9000, Limit = 0x2f };
        sregs.Idt = new KvmDtable { Base = 0xA000, Limit = 0xfff };
        sregs.Fs.Base = 0x1234_5000;
        sregs.Gs.Base = 0x6789_a000;
        sregs.Cr2 = 0xdead_b000;
        guest.Vcpu.SetSregs(sregs);

        var back = guest.Vcpu.GetSregs();
        Assert.Equal((0x9000UL, (ushort)0x2f), (back.Gdt.Base, back.Gdt.Limit));
        Assert.Equal((0xA000UL, (ushort)0xfff), (back.Idt.Base, back.Idt.Limit));
        Assert.Equal((0x1234_5000UL, 0x6789_a000UL), (back.Fs.Base, back.Gs.Base));
        Assert.Equal(0xdead_b000UL, back.Cr2);
        Assert.Equal(sregs.Cr0, back.Cr0);
        Assert.Equal(sregs.Cr3, back.Cr3);
        Assert.Equal(sregs.Cr4, back.Cr4);
        Assert.Equal(sregs.Efer, back.Efer);
        Assert.Equal(1, back.Cs.L);
    }

    [Fact]
    public void FpuStateRoundTrips()
    {
        // Round trip only: on a fresh vCPU XSTATE_BV is empty, so the kernel restores every component
        // the legacy KVM_SET_FPU wrote as its init state when the guest runs, and KVM_GET/SET_FPU never
        // copy mxcsr. Guest-visible FPU/SSE state therefore goes through XSAVE (next test), as migration does.
        using var guest = new TestGuest(GuestMode.Long, a => a.hlt());
        var fpu = guest.Vcpu.GetFpu();
        byte[] pattern = [0xEF, 0xBE, 0xAD, 0xDE, 0x11, 0x22, 0x33, 0x44];
        pattern.CopyTo(fpu.Xmm);
        fpu.Fcw = 0x37f;
        fpu.LastIp = 0x1234;
        guest.Vcpu.SetFpu(fpu);

        var back = guest.Vcpu.GetFpu();
        Assert.Equal(pattern, ((ReadOnlySpan<byte>)back.Xmm)[..8].ToArray());
        Assert.Equal(0x37f, back.Fcw);
        Assert.Equal(0x1234UL, back.LastIp);
    }

    [Fact]
    public void XsaveRoundTripsAndCarriesXmm()
    {
        using var guest = new TestGuest(GuestMode.Long, a =>
        {
            a.movdqu(__xmmword_ptr[(long)TestGuest.DataAddress], xmm1);
            a.mov(eax, __dword_ptr[(long)TestGuest.DataAddress]);
            a.@out(0x10, eax);
            a.hlt();
        });
        var xsave = guest.Vcpu.GetXsave();
        Assert.Equal(guest.Vm.XsaveSize, xsave.Region.Length);
        // XMM1 lives at offset 160 + 16 in the legacy region, MXCSR at 24; XSTATE_BV (offset 512) must
        // name SSE (bit 1) or the kernel restores the component as its init state (zeros).
        byte[] pattern = [0x78, 0x56, 0x34, 0x12];
        pattern.CopyTo(xsave.Region, 176);
        BitConverter.GetBytes(0x1f80u | 0x40 /* DAZ */).CopyTo(xsave.Region, 24);
        BitConverter.GetBytes(xsave.XstateBv | 0x3).CopyTo(xsave.Region, 512);
        guest.Vcpu.SetXsave(xsave);

        var back = guest.Vcpu.GetXsave();
        Assert.Equal(pattern, back.Region[176..180]);
        Assert.Equal(0x1fc0u, BitConverter.ToUInt32(back.Region, 24));
        Assert.Equal("out 10 78563412", guest.NextExit());
    }

    [Fact]
    public void XcrsRoundTrip()
    {
        using var guest = new TestGuest(GuestMode.Long, a => a.hlt());
        // XCR0 may only enable what the guest's CPUID leaf 0xD offers (TestGuest set the host's CPUID).
        var xcrs = guest.Vcpu.GetXcrs();
        Assert.True(xcrs.NrXcrs >= 1);
        Assert.Equal(0u, xcrs.Xcrs[0].Xcr);
        xcrs.NrXcrs = 1;
        xcrs.Xcrs[0].Value = 0x3;            // x87 | SSE
        guest.Vcpu.SetXcrs(xcrs);
        Assert.Equal(0x3UL, guest.Vcpu.GetXcrs().Xcrs[0].Value);
    }

    [Fact]
    public void MsrsRoundTripAndABadIndexIsNamed()
    {
        using var guest = new TestGuest(GuestMode.Long, a => a.hlt());
        guest.Vcpu.SetMsrs(new KvmMsrEntry(0x174, 0x10), new KvmMsrEntry(0xC000_0102, 0xffff_8880_0000_1000));
        var back = guest.Vcpu.GetMsrs(0x174, 0xC000_0102);
        Assert.Equal(0x10UL, back[0].Data);
        Assert.Equal(0xffff_8880_0000_1000UL, back[1].Data);

        var e = Assert.Throws<KvmException>(() => guest.Vcpu.GetMsrs(0x174, 0xDEAD_BEEF));
        Assert.Equal("KVM_GET_MSRS", e.Operation);
        Assert.Contains("0xdeadbeef", e.Message);
    }

    [Fact]
    public void GuestReadsWhatSetMsrsWrote()
    {
        using var guest = new TestGuest(GuestMode.Long, a =>
        {
            a.mov(ecx, 0xC000_0102);
            a.rdmsr();
            a.@out(0x10, eax);
            a.hlt();
        });
        guest.Vcpu.SetMsrs(new KvmMsrEntry(0xC000_0102, 0xCAFE_F00D));
        Assert.Equal("out 10 0DF0FECA", guest.NextExit());
    }

    [Fact]
    public void CpuidSetIsWhatTheGuestSees()
    {
        using var guest = new TestGuest(GuestMode.Long, a =>
        {
            a.xor(eax, eax);
            a.cpuid();
            a.mov(eax, ebx);
            a.@out(0x10, eax);
            a.hlt();
        });
        var cpuid = guest.Kvm.GetSupportedCpuid();
        int leaf0 = Array.FindIndex(cpuid, e => e.Function == 0);
        cpuid[leaf0].Ebx = 0x7669_6450;      // "Pdiv"
        guest.Vcpu.SetCpuid(cpuid);

        var back = guest.Vcpu.GetCpuid();
        Assert.Equal(cpuid.Length, back.Length);
        Assert.Equal(0x7669_6450u, back.Single(e => e.Function == 0).Ebx);
        Assert.Equal("out 10 50646976", guest.NextExit());
    }

    [Fact]
    public void CpuidOfAFreshVcpuIsEmpty()
    {
        using var kvm = Kvm.Open();
        using var vm = kvm.CreateVm();
        using var vcpu = vm.CreateVcpu(0);
        Assert.Empty(vcpu.GetCpuid());
    }

    [Fact]
    public void LapicMpStateEventsAndDebugRegistersRoundTrip()
    {
        using var guest = new TestGuest(GuestMode.Long, a => a.hlt(), irqchip: true);
        var vcpu = guest.Vcpu;

        var lapic = vcpu.GetLapic();
        lapic.SetRegister(0x80, 0x20);                 // TPR
        vcpu.SetLapic(lapic);
        Assert.Equal(0x20u, vcpu.GetLapic().GetRegister(0x80));

        Assert.Equal(KvmMpState.Runnable, vcpu.GetMpState());
        vcpu.SetMpState(KvmMpState.Halted);
        Assert.Equal(KvmMpState.Halted, vcpu.GetMpState());
        vcpu.SetMpState(KvmMpState.Runnable);

        var events = vcpu.GetVcpuEvents();
        events.NmiMasked = 1;
        events.InterruptShadow = 0;
        vcpu.SetVcpuEvents(events);
        Assert.Equal(1, vcpu.GetVcpuEvents().NmiMasked);

        var debug = vcpu.GetDebugRegs();
        debug.Db[0] = 0x1000;
        debug.Db[3] = 0x4000;
        debug.Dr7 = 0x401;                             // L0 enabled
        vcpu.SetDebugRegs(debug);
        var debugBack = vcpu.GetDebugRegs();
        Assert.Equal((0x1000UL, 0x4000UL, 0x401UL), (debugBack.Db[0], debugBack.Db[3], debugBack.Dr7));
    }

    [Fact]
    public void KvmClockAndIrqchipAndPitRoundTrip()
    {
        using var guest = new TestGuest(GuestMode.Long, a => a.hlt(), irqchip: true, beforeVcpu: vm => vm.CreatePit2());
        var vm = guest.Vm;

        var clock = vm.GetClock();
        vm.SetClock(new KvmClockData { Clock = clock.Clock + 5_000_000_000 });
        Assert.True(vm.GetClock().Clock >= clock.Clock + 5_000_000_000);

        var ioapic = vm.GetIrqchip(KvmIrqchip.Ioapic);
        vm.SetIrqchip(ioapic);
        var ioapicBack = vm.GetIrqchip(KvmIrqchip.Ioapic);
        Assert.Equal(((ReadOnlySpan<byte>)ioapic.Chip).ToArray(), ((ReadOnlySpan<byte>)ioapicBack.Chip).ToArray());

        var pit = vm.GetPit2();
        pit.Channels[0].Mode = 2;
        vm.SetPit2(pit);
        Assert.Equal(2, vm.GetPit2().Channels[0].Mode);

        Assert.True(guest.Vcpu.GetTscKhz() > 0);
    }
}
