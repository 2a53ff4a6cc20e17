using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Podvisor.Kvm.Abi;
using Podvisor.Kvm.Interop;

namespace Podvisor.Kvm.Tests;

/// <summary>
/// Our kernel ABI against the kernel's own headers: a C program is compiled at test time against
/// linux-libc-dev's linux/kvm.h and prints sizes, offsets and constants; every one must match ours.
/// </summary>
public sealed class AbiTests
{
    private static readonly Lazy<Dictionary<string, ulong>> Kernel = new(CompileAndRunProbe);

    private static readonly (string CName, int Size)[] Sizes =
    [
        ("kvm_regs", Unsafe.SizeOf<KvmRegs>()), ("kvm_sregs", Unsafe.SizeOf<KvmSregs>()),
        ("kvm_segment", Unsafe.SizeOf<KvmSegment>()), ("kvm_dtable", Unsafe.SizeOf<KvmDtable>()),
        ("kvm_fpu", Unsafe.SizeOf<KvmFpu>()), ("kvm_xcr", Unsafe.SizeOf<KvmXcr>()), ("kvm_xcrs", Unsafe.SizeOf<KvmXcrs>()),
        ("kvm_msr_entry", Unsafe.SizeOf<KvmMsrEntry>()), ("kvm_cpuid_entry2", Unsafe.SizeOf<KvmCpuidEntry2>()),
        ("kvm_lapic_state", Unsafe.SizeOf<KvmLapicState>()), ("kvm_vcpu_events", Unsafe.SizeOf<KvmVcpuEvents>()),
        ("kvm_debugregs", Unsafe.SizeOf<KvmDebugRegs>()),
        ("kvm_userspace_memory_region", Unsafe.SizeOf<KvmUserspaceMemoryRegion>()),
        ("kvm_dirty_log", Unsafe.SizeOf<KvmDirtyLog>()), ("kvm_clear_dirty_log", Unsafe.SizeOf<KvmClearDirtyLog>()),
        ("kvm_irq_level", Unsafe.SizeOf<KvmIrqLevel>()), ("kvm_irq_routing_entry", Unsafe.SizeOf<KvmIrqRoutingEntry>()),
        ("kvm_irqfd", Unsafe.SizeOf<KvmIrqfd>()), ("kvm_ioeventfd", Unsafe.SizeOf<KvmIoeventfd>()),
        ("kvm_clock_data", Unsafe.SizeOf<KvmClockData>()), ("kvm_pit_config", Unsafe.SizeOf<KvmPitConfig>()),
        ("kvm_pit_channel_state", Unsafe.SizeOf<KvmPitChannelState>()), ("kvm_pit_state2", Unsafe.SizeOf<KvmPitState2>()),
        ("kvm_irqchip", Unsafe.SizeOf<KvmIrqchip>()), ("kvm_enable_cap", Unsafe.SizeOf<KvmEnableCap>()),
        ("kvm_xsave", Xsave.LegacySize),
    ];

    private static int Off<T>(string field) => (int)Marshal.OffsetOf<T>(field);

    private static readonly (string CField, int Offset)[] Offsets =
    [
        ("kvm_sregs.cr0", Off<KvmSregs>(nameof(KvmSregs.Cr0))), ("kvm_sregs.efer", Off<KvmSregs>(nameof(KvmSregs.Efer))),
        ("kvm_sregs.apic_base", Off<KvmSregs>(nameof(KvmSregs.ApicBase))),
        ("kvm_sregs.interrupt_bitmap", Off<KvmSregs>(nameof(KvmSregs.InterruptBitmap))),
        ("kvm_segment.unusable", Off<KvmSegment>(nameof(KvmSegment.Unusable))),
        ("kvm_fpu.last_ip", Off<KvmFpu>(nameof(KvmFpu.LastIp))), ("kvm_fpu.xmm", Off<KvmFpu>(nameof(KvmFpu.Xmm))),
        ("kvm_fpu.mxcsr", Off<KvmFpu>(nameof(KvmFpu.Mxcsr))),
        ("kvm_xcrs.xcrs", Off<KvmXcrs>(nameof(KvmXcrs.Xcrs))),
        ("kvm_vcpu_events.sipi_vector", Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.SipiVector))),
        ("kvm_vcpu_events.flags", Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.Flags))),
        ("kvm_vcpu_events.smi", Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.SmiSmm))),
        ("kvm_vcpu_events.triple_fault", Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.TripleFaultPending))),
        ("kvm_vcpu_events.exception_has_payload", Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.ExceptionHasPayload))),
        ("kvm_vcpu_events.exception_payload", Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.ExceptionPayload))),
        ("kvm_debugregs.dr7", Off<KvmDebugRegs>(nameof(KvmDebugRegs.Dr7))),
        ("kvm_clock_data.realtime", Off<KvmClockData>(nameof(KvmClockData.Realtime))),
        ("kvm_clock_data.host_tsc", Off<KvmClockData>(nameof(KvmClockData.HostTsc))),
        ("kvm_ioeventfd.fd", Off<KvmIoeventfd>(nameof(KvmIoeventfd.Fd))),
        ("kvm_ioeventfd.flags", Off<KvmIoeventfd>(nameof(KvmIoeventfd.Flags))),
        ("kvm_irq_routing_entry.u", Off<KvmIrqRoutingEntry>(nameof(KvmIrqRoutingEntry.U0))),
        ("kvm_pit_channel_state.count_load_time", Off<KvmPitChannelState>(nameof(KvmPitChannelState.CountLoadTime))),
        ("kvm_pit_state2.flags", Off<KvmPitState2>(nameof(KvmPitState2.Flags))),
        ("kvm_irqchip.chip", Off<KvmIrqchip>(nameof(KvmIrqchip.Chip))),
        ("kvm_enable_cap.args", Off<KvmEnableCap>(nameof(KvmEnableCap.Args))),
        // kvm_run: the offsets VcpuExit and Vcpu read directly from the shared page.
        ("kvm_run.request_interrupt_window", 0), ("kvm_run.immediate_exit", 1),
        ("kvm_run.exit_reason", VcpuExit.ExitReasonOffset), ("kvm_run.if_flag", 13),
        ("kvm_run.io", VcpuExit.UnionOffset), ("kvm_run.io.size", 33), ("kvm_run.io.port", 34),
        ("kvm_run.io.count", 36), ("kvm_run.io.data_offset", 40),
        ("kvm_run.mmio.phys_addr", 32), ("kvm_run.mmio.data", 40), ("kvm_run.mmio.len", 48), ("kvm_run.mmio.is_write", 52),
        ("kvm_run.fail_entry.cpu", 40), ("kvm_run.internal.ndata", 36), ("kvm_run.internal.data", 40),
        ("kvm_run.system_event.type", 32), ("kvm_run.system_event.data", 40),
    ];

    private static IEnumerable<(string Name, ulong Value)> Constants()
    {
        foreach (var (name, value) in KvmIoctls.All) yield return (name, value);
        foreach (var cap in Enum.GetValues<KvmCapability>()) yield return ("KVM_CAP_" + Snake(cap.ToString()), (ulong)cap);
        foreach (var exit in Enum.GetValues<VcpuExitReason>()) yield return ("KVM_EXIT_" + Snake(exit.ToString()), (ulong)exit);
        foreach (var state in Enum.GetValues<KvmMpState>()) yield return ("KVM_MP_STATE_" + Snake(state.ToString()), (ulong)state);
        foreach (var ev in Enum.GetValues<SystemEventType>()) yield return ("KVM_SYSTEM_EVENT_" + Snake(ev.ToString()), (ulong)ev);
        yield return ("KVM_MEM_LOG_DIRTY_PAGES", (ulong)MemorySlotFlags.LogDirtyPages);
        yield return ("KVM_MEM_READONLY", (ulong)MemorySlotFlags.ReadOnly);
        yield return ("KVM_IRQFD_FLAG_DEASSIGN", KvmIrqfd.FlagDeassign);
        yield return ("KVM_IRQFD_FLAG_RESAMPLE", KvmIrqfd.FlagResample);
        yield return ("KVM_IOEVENTFD_FLAG_DATAMATCH", KvmIoeventfd.FlagDatamatch);
        yield return ("KVM_IOEVENTFD_FLAG_PIO", KvmIoeventfd.FlagPio);
        yield return ("KVM_IOEVENTFD_FLAG_DEASSIGN", KvmIoeventfd.FlagDeassign);
        yield return ("KVM_IRQ_ROUTING_IRQCHIP", KvmIrqRoutingEntry.TypeIrqchip);
        yield return ("KVM_IRQ_ROUTING_MSI", KvmIrqRoutingEntry.TypeMsi);
        yield return ("KVM_IRQCHIP_IOAPIC", KvmIrqchip.Ioapic);
        yield return ("KVM_PIT_SPEAKER_DUMMY", KvmPitConfig.FlagSpeakerDummy);
        yield return ("KVM_CPUID_FLAG_SIGNIFCANT_INDEX", KvmCpuidEntry2.FlagSignificantIndex);
        yield return ("KVM_VCPUEVENT_VALID_SMM", KvmVcpuEvents.ValidSmm);
        yield return ("KVM_VCPUEVENT_VALID_PAYLOAD", KvmVcpuEvents.ValidPayload);
        yield return ("KVM_CLOCK_TSC_STABLE", KvmClockData.FlagTscStable);
    }

    public static TheoryData<string, int> SizeCases() => new(Sizes.Select(s => (s.CName, s.Size)));
    public static TheoryData<string, int> OffsetCases() => new(Offsets.Select(o => (o.CField, o.Offset)));
    public static TheoryData<string, ulong> ConstantCases() => new(Constants());

    [Theory]
    [MemberData(nameof(SizeCases))]
    public void StructSizeMatchesTheKernel(string cName, int ours) =>
        Assert.Equal(Kernel.Value[$"sizeof {cName}"], (ulong)ours);

    [Theory]
    [MemberData(nameof(OffsetCases))]
    public void FieldOffsetMatchesTheKernel(string cField, int ours) =>
        Assert.Equal(Kernel.Value[$"offsetof {cField}"], (ulong)ours);

    [Theory]
    [MemberData(nameof(ConstantCases))]
    public void ConstantMatchesTheKernel(string name, ulong ours) =>
        Assert.Equal($"{name} = {Kernel.Value[$"const {name}"]:x}", $"{name} = {ours:x}");

    /// <summary>PascalCase → UPPER_SNAKE (IrqWindowOpen → IRQ_WINDOW_OPEN; X86Rdmsr → X86_RDMSR).</summary>
    private static string Snake(string pascal)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < pascal.Length; i++)
        {
            if (i > 0 && char.IsUpper(pascal[i])) sb.Append('_');
            sb.Append(char.ToUpperInvariant(pascal[i]));
        }
        return sb.ToString();
    }

    private static Dictionary<string, ulong> CompileAndRunProbe()
    {
        var c = new StringBuilder("""
            #include <linux/kvm.h>
            #include <stddef.h>
            #include <stdio.h>
            int main(void) {

            """);
        foreach (var (name, _) in Sizes) c.AppendLine($"  printf(\"sizeof {name} %zu\\n\", sizeof(struct {name}));");
        foreach (var (field, _) in Offsets)
        {
            int dot = field.IndexOf('.');
            c.AppendLine($"  printf(\"offsetof {field} %zu\\n\", offsetof(struct {field[..dot]}, {field[(dot + 1)..]}));");
        }
        foreach (var (name, _) in Constants()) c.AppendLine($"  printf(\"const {name} %llu\\n\", (unsigned long long)({name}));");
        c.AppendLine("  return 0;\n}");

        string dir = Directory.CreateTempSubdirectory("podvisor-abi-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "probe.c"), c.ToString());
            Run("gcc", $"-o {dir}/probe {dir}/probe.c", "compiling the ABI probe needs gcc and linux-libc-dev (apt-get install gcc linux-libc-dev)");
            string output = Run($"{dir}/probe", "", "running the ABI probe");
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => (Key: line[..line.LastIndexOf(' ')], Value: ulong.Parse(line[(line.LastIndexOf(' ') + 1)..])))
                .ToDictionary(kv => kv.Key, kv => kv.Value);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Run(string file, string args, string what)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"{what}: could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{what} failed (exit {p.ExitCode}):\n{stderr}");
        return stdout.Result;
    }
}
