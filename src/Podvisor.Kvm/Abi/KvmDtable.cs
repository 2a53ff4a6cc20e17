using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_dtable: GDTR / IDTR.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmDtable
{
    public ulong Base;
    public ushort Limit;
    private ushort _padding0, _padding1, _padding2;
}
