using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_pit_state2 (KVM_GET_PIT2 / KVM_SET_PIT2).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmPitState2
{
    public InlinePitChannels3 Channels;
    public uint Flags;
    private InlineU32x9 _reserved;
}
