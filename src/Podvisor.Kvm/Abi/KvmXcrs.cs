using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_xcrs (KVM_GET_XCRS / KVM_SET_XCRS).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmXcrs
{
    public uint NrXcrs;
    public uint Flags;
    public InlineXcrs16 Xcrs;
    private InlineU64x16 _padding;
}
