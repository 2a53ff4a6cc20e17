using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_enable_cap (KVM_ENABLE_CAP).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmEnableCap
{
    public uint Cap;
    public uint Flags;
    public InlineU64x4 Args;
    private InlineBytes64 _pad;
}
