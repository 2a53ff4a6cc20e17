using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_ioeventfd (KVM_IOEVENTFD).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmIoeventfd
{
    public const uint FlagDatamatch = 1 << 0, FlagPio = 1 << 1, FlagDeassign = 1 << 2;

    public ulong Datamatch;
    public ulong Addr;
    public uint Len;
    public int Fd;
    public uint Flags;
    private InlineBytes36 _pad;
}
