using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_irqfd (KVM_IRQFD).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmIrqfd
{
    public const uint FlagDeassign = 1, FlagResample = 2;

    public uint Fd;
    public uint Gsi;
    public uint Flags;
    public uint ResampleFd;
    private InlineBytes16 _pad;
}
