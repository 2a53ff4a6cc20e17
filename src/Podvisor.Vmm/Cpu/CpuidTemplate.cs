using Podvisor.Kvm.Abi;

namespace Podvisor.Vmm.Cpu;

/// <summary>
/// The CPUID a vCPU sees: what KVM supports on this host, marked as running under a hypervisor, with the
/// vCPU's own APIC id and the VM's CPU count (so the guest's topology matches its MP table), without the
/// invariant-TSC flag (a VM may migrate), with the TSC-deadline timer where KVM emulates it. Optionally
/// without XSAVE and the AVX family that needs it (see <see cref="HostCpu.IsQemuTcg"/>).
/// </summary>
public static class CpuidTemplate
{
    private const uint HypervisorBit = 1u << 31;   // leaf 1 ECX
    private const uint HttBit = 1u << 28;          // leaf 1 EDX: more than one logical processor
    private const uint TscDeadlineBit = 1u << 24;  // leaf 1 ECX
    private const int XsaveLeaf = 0xd;
    private const uint PowerManagementLeaf = 0x8000_0007;
    private const uint InvariantTscBit = 1u << 8;  // leaf 0x80000007 EDX
    // Leaf 1 ECX: FMA, XSAVE, OSXSAVE, AVX, F16C.
    private const uint Leaf1XsaveFamily = (1u << 12) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 29);
    // Leaf 7.0 EBX: AVX2 and the AVX-512 foundation/extensions.
    private const uint Leaf7EbxAvx = (1u << 5) | (1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31);
    // Leaf 7.0 ECX: PKU (its PKRU state lives in XSAVE), AVX-512 VBMI/VBMI2/VNNI/BITALG/VPOPCNTDQ, VAES, VPCLMULQDQ.
    private const uint Leaf7EcxAvx = (1u << 1) | (1u << 3) | (1u << 6) | (1u << 9) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 14);
    // Leaf 7.0 EDX: AVX-512 4VNNIW, 4FMAPS, VP2INTERSECT, FP16.
    private const uint Leaf7EdxAvx = (1u << 2) | (1u << 3) | (1u << 8) | (1u << 23);

    /// <param name="tscDeadline">KVM emulates the local APIC's TSC-deadline mode (KVM_CAP_TSC_DEADLINE_TIMER).
    /// KVM_GET_SUPPORTED_CPUID never reports it, so it is up to the VMM (QEMU and Firecracker set it too). Without
    /// it Linux runs its timer in one-shot mode, where each tick stopped or restarted around idle costs several
    /// APIC register exits instead of one MSR write.</param>
    public static KvmCpuidEntry2[] ForVcpu(ReadOnlySpan<KvmCpuidEntry2> supported, uint apicId, uint cpuCount, bool withoutXsave = false, bool tscDeadline = false)
    {
        var entries = new List<KvmCpuidEntry2>(supported.Length);
        foreach (var original in supported)
        {
            var e = original;
            switch (e.Function)
            {
                case 1:
                    e.Ecx |= HypervisorBit;
                    if (tscDeadline) e.Ecx |= TscDeadlineBit;
                    e.Ebx = (e.Ebx & 0x0000ffff) | (Math.Min(cpuCount, 255) << 16) | (apicId << 24);
                    e.Edx = cpuCount > 1 ? e.Edx | HttBit : e.Edx & ~HttBit;
                    if (withoutXsave) e.Ecx &= ~Leaf1XsaveFamily;
                    break;
                case 7 when e.Index == 0 && withoutXsave:
                    e.Ebx &= ~Leaf7EbxAvx;
                    e.Ecx &= ~Leaf7EcxAvx;
                    e.Edx &= ~Leaf7EdxAvx;
                    break;
                case XsaveLeaf when withoutXsave:
                    continue;
                case 0xb or 0x1f:
                    e.Edx = apicId;                 // x2APIC id, every level
                    break;
                case PowerManagementLeaf:
                    // Not invariant across a live migration (another host, another TSC): like QEMU's default
                    // (invtsc off), the guest keeps kvmclock as its clocksource instead of trusting the TSC.
                    e.Edx &= ~InvariantTscBit;
                    break;
            }
            entries.Add(e);
        }
        return [.. entries];
    }
}
