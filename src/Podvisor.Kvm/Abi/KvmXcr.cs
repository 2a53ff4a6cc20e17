using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_xcr: one extended control register (XCR0 is index 0).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmXcr
{
    public uint Xcr;
    private uint _reserved;
    public ulong Value;
}
