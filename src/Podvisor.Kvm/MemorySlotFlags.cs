namespace Podvisor.Kvm;

/// <summary>KVM_MEM_* flags of a memory slot.</summary>
[Flags]
public enum MemorySlotFlags : uint
{
    None = 0,
    /// <summary>KVM_MEM_LOG_DIRTY_PAGES: track guest writes for KVM_GET_DIRTY_LOG.</summary>
    LogDirtyPages = 1,
    /// <summary>KVM_MEM_READONLY: guest writes exit as MMIO.</summary>
    ReadOnly = 2,
}
