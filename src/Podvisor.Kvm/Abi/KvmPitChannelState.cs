using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_pit_channel_state: one 8254 counter.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmPitChannelState
{
    public uint Count;
    public ushort LatchedCount;
    public byte CountLatched, StatusLatched, Status, ReadState, WriteState, WriteLatch, RwMode, Mode, Bcd, Gate;
    public long CountLoadTime;
}
