using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_dirty_log (KVM_GET_DIRTY_LOG): the bitmap pointer is a user address.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmDirtyLog
{
    public uint Slot;
    private uint _padding;
    public ulong DirtyBitmap;
}
