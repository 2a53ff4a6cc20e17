using Podvisor.Kvm.Abi;

namespace Podvisor.Kvm.Tests.Guests;

/// <summary>
/// A one-vCPU VM with a small RAM slot at guest-physical 0, set up to start in real, protected or long
/// mode at <see cref="CodeAddress"/>. Memory above <see cref="RamSize"/> is unbacked, so accesses there
/// exit as MMIO (<see cref="MmioAddress"/> is such a place, below 1 MiB so every mode can reach it).
/// </summary>
public sealed class TestGuest : IDisposable
{
    public const ulong RamSize = 0x80000;          // 512 KiB
    public const ulong CodeAddress = 0x1000;
    public const ulong Pml4Address = 0x2000, PdptAddress = 0x3000, PdAddress = 0x4000;
    public const ulong DataAddress = 0x5000;
    public const ulong StackTop = 0x8000;
    public const ulong MmioAddress = 0xA0000;

    public TestGuest(GuestMode mode, Action<Iced.Intel.Assembler> code, bool irqchip = false,
        MemorySlotFlags slotFlags = MemorySlotFlags.None, Action<Vm>? beforeVcpu = null)
    {
        Mode = mode;
        Kvm = Kvm.Open();
        Vm = Kvm.CreateVm();
        Memory = new HostMemory(RamSize);
        // Intel's real-mode emulation needs the TSS pages; harmless elsewhere. Keep them above RAM.
        Vm.SetTssAddress(0xFFFB_D000);
        if (irqchip)
        {
            Vm.CreateIrqchip();
        }
        beforeVcpu?.Invoke(Vm);
        Vm.SetMemorySlot(new MemorySlot(0, 0, Memory, 0, RamSize, slotFlags));
        Vcpu = Vm.CreateVcpu(0);
        // Like a real VMM, give the guest the host's supported CPUID: the XSAVE features the guest may
        // enable (XCR0) follow from it.
        Vcpu.SetCpuid(Kvm.GetSupportedCpuid());
        Memory.Write(CodeAddress, GuestCode.Assemble(mode, CodeAddress, code));
        EnterMode(mode);
    }

    public GuestMode Mode { get; }
    public Kvm Kvm { get; }
    public Vm Vm { get; }
    public HostMemory Memory { get; }
    public Vcpu Vcpu { get; }

    private void EnterMode(GuestMode mode)
    {
        var sregs = Vcpu.GetSregs();
        switch (mode)
        {
            case GuestMode.Real:
                sregs.Cs.Base = 0;
                sregs.Cs.Selector = 0;
                break;
            case GuestMode.Protected:
                sregs.Cs = FlatSegment(selector: 8, code: true, longMode: false);
                sregs.Ds = sregs.Es = sregs.Fs = sregs.Gs = sregs.Ss = FlatSegment(selector: 16, code: false, longMode: false);
                sregs.Cr0 = 0x11;                       // PE | ET
                break;
            case GuestMode.Long:
                // Identity-map the first 1 GiB with 2 MiB pages; that covers RAM and the MMIO hole.
                Memory.WriteValue(Pml4Address, PdptAddress | 3);
                Memory.WriteValue(PdptAddress, PdAddress | 3);
                for (ulong i = 0; i < 512; i++) Memory.WriteValue(PdAddress + i * 8, (i << 21) | 0x83);
                sregs.Cs = FlatSegment(selector: 8, code: true, longMode: true);
                sregs.Ds = sregs.Es = sregs.Fs = sregs.Gs = sregs.Ss = FlatSegment(selector: 16, code: false, longMode: false);
                sregs.Cr3 = Pml4Address;
                sregs.Cr4 = 0x20 | 0x200 | 0x400;       // PAE | OSFXSR | OSXMMEXCPT
                sregs.Cr0 = 0x8005_0033;                // PG | AM | WP | NE | ET | MP | PE
                sregs.Efer = 0x500;                     // LMA | LME
                break;
        }
        Vcpu.SetSregs(sregs);
        Vcpu.SetRegs(new KvmRegs { Rip = CodeAddress, Rflags = 2, Rsp = StackTop });
    }

    private static KvmSegment FlatSegment(ushort selector, bool code, bool longMode) => new()
    {
        Base = 0,
        Limit = 0xFFFF_FFFF,
        Selector = selector,
        Type = code ? (byte)11 : (byte)3,
        Present = 1,
        S = 1,
        G = 1,
        L = longMode && code ? (byte)1 : (byte)0,
        Db = longMode && code ? (byte)0 : (byte)1,
    };

    /// <summary>Runs until an exit other than <see cref="VcpuExitReason.Intr"/>, and hands it to <paramref name="inspect"/>.</summary>
    public T RunUntilExit<T>(VcpuExitHandler<T> inspect, int maxInterrupts = 100)
    {
        using var watchdog = new VcpuWatchdog(Vcpu);
        for (int i = 0; i < maxInterrupts; i++)
        {
            var exit = Vcpu.Run();
            if (exit.Reason != VcpuExitReason.Intr) return inspect(exit);
            watchdog.ThrowIfFired("waiting for a guest exit");
        }
        throw new InvalidOperationException($"KVM_RUN was interrupted {maxInterrupts} times in a row");
    }

    /// <summary>Runs to the next exit and describes it: "out PORT DATA" for port output, else the exit itself.</summary>
    public string NextExit() =>
        RunUntilExit(e => e.Reason == VcpuExitReason.Io && e.Io.IsOut ? $"out {e.Io.Port:x} {Convert.ToHexString(e.Io.Data)}" : e.ToString());

    public void Dispose()
    {
        Vcpu.Dispose();
        Vm.Dispose();
        Memory.Dispose();
        Kvm.Dispose();
    }
}

public delegate T VcpuExitHandler<out T>(VcpuExit exit);
