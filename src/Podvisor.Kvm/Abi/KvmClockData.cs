using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_clock_data (KVM_GET_CLOCK / KVM_SET_CLOCK): the guest's kvmclock in ns.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmClockData
{
    public const uint FlagTscStable = 1 << 1, FlagRealtime = 1 << 2, FlagHostTsc = 1 << 3;

    public ulong Clock;
    public uint Flags;
    private uint _pad0;
    public ulong Realtime;
    public ulong HostTsc;
    private InlineU32x4 _pad;
}
