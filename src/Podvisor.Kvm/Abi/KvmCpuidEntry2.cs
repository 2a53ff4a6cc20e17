using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_cpuid_entry2: one CPUID leaf/subleaf.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmCpuidEntry2
{
    /// <summary>KVM_CPUID_FLAG_SIGNIFCANT_INDEX: the leaf has subleaves selected by ECX.</summary>
    public const uint FlagSignificantIndex = 1;

    public uint Function;
    public uint Index;
    public uint Flags;
    public uint Eax, Ebx, Ecx, Edx;
    private InlineU32x3 _padding;

    public override readonly string ToString() =>
        $"CPUID 0x{Function:x}.{Index}: eax={Eax:x8} ebx={Ebx:x8} ecx={Ecx:x8} edx={Edx:x8}";
}
