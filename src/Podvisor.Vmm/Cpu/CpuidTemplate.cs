using Podvisor.Kvm.Abi;

namespace Podvisor.Vmm.Cpu;

/// <summary>
/// The CPUID a vCPU sees: what KVM supports on this host, marked as running under a hypervisor, with the
/// vCPU's own APIC id and the VM's CPU count (so the guest's topology matches its MP table).
/// </summary>
public static class CpuidTemplate
{
    private const uint HypervisorBit = 1u << 31;   // leaf 1 ECX
    private const uint HttBit = 1u << 28;          // leaf 1 EDX: more than one logical processor

    public static KvmCpuidEntry2[] ForVcpu(ReadOnlySpan<KvmCpuidEntry2> supported, uint apicId, uint cpuCount)
    {
        var entries = supported.ToArray();
        for (int i = 0; i < entries.Length; i++)
        {
            ref var e = ref entries[i];
            switch (e.Function)
            {
                case 1:
                    e.Ecx |= HypervisorBit;
                    e.Ebx = (e.Ebx & 0x0000ffff) | (Math.Min(cpuCount, 255) << 16) | (apicId << 24);
                    e.Edx = cpuCount > 1 ? e.Edx | HttBit : e.Edx & ~HttBit;
                    break;
                case 0xb or 0x1f:
                    e.Edx = apicId;                 // x2APIC id, every level
                    break;
            }
        }
        return entries;
    }
}
