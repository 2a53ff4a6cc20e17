using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_debugregs: DR0-3, DR6, DR7.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmDebugRegs
{
    public InlineU64x4 Db;
    public ulong Dr6;
    public ulong Dr7;
    public ulong Flags;
    private InlineU64x9 _reserved;
}
