using System.Diagnostics;
using Podvisor.Kvm;

namespace Podvisor.Benchmarks.KvmRunRoundTrip;

/// <summary>The measured loop: a real-mode guest doing `out 0x10, al` forever; one KVM_RUN per exit.</summary>
internal static class RoundTrip
{
    private static readonly byte[] Code = [0xB0, 0x42, 0xE6, 0x10, 0xEB, 0xFC]; // mov al,0x42; l: out 0x10,al; jmp l

    public static double MeasureNsPerExit(long exits)
    {
        using var kvm = Kvm.Kvm.Open();
        using var vm = kvm.CreateVm();
        using var memory = new HostMemory(0x10000);
        memory.Write(0x1000, Code);
        vm.SetMemorySlot(new MemorySlot(0, 0, memory, 0, 0x10000));
        using var vcpu = vm.CreateVcpu(0);
        var sregs = vcpu.GetSregs();
        sregs.Cs.Base = 0;
        sregs.Cs.Selector = 0;
        vcpu.SetSregs(sregs);
        vcpu.SetRegs(new Kvm.Abi.KvmRegs { Rip = 0x1000, Rflags = 2 });

        for (int i = 0; i < 1000; i++) Expect(vcpu);
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < exits; i++) Expect(vcpu);
        return Stopwatch.GetElapsedTime(start).TotalNanoseconds / exits;
    }

    private static void Expect(Vcpu vcpu)
    {
        var exit = vcpu.Run();
        if (exit.Reason != VcpuExitReason.Io) throw new InvalidOperationException($"unexpected exit {exit.ToString()}");
        var io = exit.Io;
        if (io.Port != 0x10 || io.Data[0] != 0x42) throw new InvalidOperationException($"unexpected exit {exit.ToString()}");
    }
}
