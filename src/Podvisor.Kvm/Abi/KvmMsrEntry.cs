using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_msr_entry: one model-specific register.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmMsrEntry
{
    public uint Index;
    private uint _reserved;
    public ulong Data;

    public KvmMsrEntry(uint index, ulong data = 0)
    {
        Index = index;
        Data = data;
    }

    public override readonly string ToString() => $"MSR 0x{Index:x} = 0x{Data:x}";
}
