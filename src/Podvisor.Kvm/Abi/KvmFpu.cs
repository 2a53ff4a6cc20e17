using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_fpu: legacy x87/SSE state (KVM_GET_FPU / KVM_SET_FPU).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmFpu
{
    /// <summary>Eight 16-byte x87 register slots (fpr[8][16]).</summary>
    public InlineBytes128 Fpr;
    public ushort Fcw;
    public ushort Fsw;
    public byte Ftwx;
    private byte _pad1;
    public ushort LastOpcode;
    public ulong LastIp;
    public ulong LastDp;
    /// <summary>Sixteen 16-byte XMM registers (xmm[16][16]).</summary>
    public InlineBytes256 Xmm;
    public uint Mxcsr;
    private uint _pad2;
}
