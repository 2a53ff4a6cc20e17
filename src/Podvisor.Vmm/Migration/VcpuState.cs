using Podvisor.Kvm;
using Podvisor.Kvm.Abi;

namespace Podvisor.Vmm.Migration;

/// <summary>
/// Everything KVM holds about one vCPU, as bytes of the kernel's structs: general and special registers,
/// FPU/SSE/AVX (XSAVE, or the legacy FPU area where XSAVE is absent), XCRs, debug registers, the local
/// APIC, pending events, the MP state and every MSR KVM can save (TSC and kvmclock's among them).
/// </summary>
public sealed record VcpuState(
    uint Id, byte[] Regs, byte[] Sregs, byte[]? Xsave, byte[]? Fpu, byte[]? Xcrs, byte[] DebugRegs, byte[] Lapic,
    byte[] Events, uint MpState, IReadOnlyList<SavedMsr> Msrs, int TscKhz)
{
    public const uint TscMsr = 0x10, TscDeadlineMsr = 0x6e0;

    /// <summary>Reads the vCPU's state (it must not be running). <paramref name="msrs"/>: which MSRs to save.</summary>
    public static VcpuState Capture(Vcpu vcpu, ReadOnlySpan<uint> msrs)
    {
        var vm = vcpu.Vm;
        bool xsave = vm.CheckExtension(KvmCapability.Xsave) > 0;
        return new VcpuState(
            vcpu.Id,
            StructBytes.From(vcpu.GetRegs()),
            StructBytes.From(vcpu.GetSregs()),
            xsave ? vcpu.GetXsave().Region : null,
            xsave ? null : StructBytes.From(vcpu.GetFpu()),
            vm.CheckExtension(KvmCapability.Xcrs) > 0 ? StructBytes.From(vcpu.GetXcrs()) : null,
            StructBytes.From(vcpu.GetDebugRegs()),
            StructBytes.From(vcpu.GetLapic()),
            StructBytes.From(vcpu.GetVcpuEvents()),
            (uint)vcpu.GetMpState(),
            [.. vcpu.GetMsrs(msrs).Select(e => new SavedMsr(e.Index, e.Data))],
            vm.CheckExtension(KvmCapability.GetTscKhz) > 0 ? vcpu.GetTscKhz() : 0);
    }

    /// <summary>
    /// Writes the state into a freshly created vCPU with the same CPUID, in the order the kernel needs:
    /// the TSC rate first, MP state, registers (special registers set the mode the rest is read in), the
    /// FPU, XCRs, debug registers, the local APIC before MSRs, and pending events last (they refer to the restored
    /// registers). The TSC and the TSC deadline are left to the caller: they go with kvmclock. MSRs whose value the
    /// vCPU already holds (<paramref name="current"/>: what a fresh vCPU was read to hold, nothing since written to them)
    /// are not written again.
    /// </summary>
    public void Restore(Vcpu vcpu, IReadOnlyDictionary<uint, ulong>? current = null)
    {
        var vm = vcpu.Vm;
        if (TscKhz > 0 && vm.CheckExtension(KvmCapability.TscControl) > 0 && vcpu.GetTscKhz() != TscKhz)
            vcpu.SetTscKhz((uint)TscKhz);
        vcpu.SetMpState((KvmMpState)MpState);
        vcpu.SetSregs(StructBytes.To<KvmSregs>(Sregs, "special registers"));
        vcpu.SetRegs(StructBytes.To<KvmRegs>(Regs, "registers"));
        if (Xsave is not null)
        {
            if (vm.CheckExtension(KvmCapability.Xsave) <= 0)
                throw new MigrationException("the source saved XSAVE state; this host's KVM has no XSAVE");
            vcpu.SetXsave(new Xsave(Xsave.Length >= vm.XsaveSize ? Xsave : [.. Xsave, .. new byte[vm.XsaveSize - Xsave.Length]]));
        }
        else if (Fpu is not null) vcpu.SetFpu(StructBytes.To<KvmFpu>(Fpu, "FPU"));
        if (Xcrs is not null) vcpu.SetXcrs(StructBytes.To<KvmXcrs>(Xcrs, "XCRs"));
        vcpu.SetDebugRegs(StructBytes.To<KvmDebugRegs>(DebugRegs, "debug registers"));
        vcpu.SetLapic(StructBytes.To<KvmLapicState>(Lapic, "local APIC"));
        // The TSC and its deadline are set by the machine, together with kvmclock (see GuestClocks).
        bool AlreadyHeld(SavedMsr m) => current is not null && current.TryGetValue(m.Index, out ulong held) && held == m.Value;
        vcpu.SetMsrs([.. Msrs.Where(m => m.Index is not (TscMsr or TscDeadlineMsr) && !AlreadyHeld(m)).Select(m => new KvmMsrEntry(m.Index, m.Value))]);
        vcpu.SetVcpuEvents(StructBytes.To<KvmVcpuEvents>(Events, "vCPU events"));
    }
}

/// <summary>One model-specific register's value.</summary>
public sealed record SavedMsr(uint Index, ulong Value);
