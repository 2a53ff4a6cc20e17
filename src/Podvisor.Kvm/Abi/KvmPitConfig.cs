using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_pit_config (KVM_CREATE_PIT2).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmPitConfig
{
    /// <summary>KVM_PIT_SPEAKER_DUMMY: KVM emulates port 0x61 so guests' speaker probes don't exit.</summary>
    public const uint FlagSpeakerDummy = 1;

    public uint Flags;
    private InlineU32x15 _pad;
}
