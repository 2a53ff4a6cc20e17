using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_irqchip (KVM_GET_IRQCHIP / KVM_SET_IRQCHIP): PIC master (0), slave (1) or IOAPIC (2).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmIrqchip
{
    public const uint PicMaster = 0, PicSlave = 1, Ioapic = 2;

    public uint ChipId;
    private uint _pad;
    /// <summary>The chip's state: struct kvm_pic_state or struct kvm_ioapic_state, as raw bytes.</summary>
    public InlineBytes512 Chip;
}
