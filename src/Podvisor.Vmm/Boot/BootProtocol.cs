namespace Podvisor.Vmm.Boot;

/// <summary>How the boot vCPU enters the kernel.</summary>
public enum BootProtocol
{
    /// <summary>bzImage: 64-bit long mode at startup_64, RSI = zero page.</summary>
    Linux64,
    /// <summary>ELF vmlinux: 32-bit protected mode, paging off, at the PVH entry, RBX = hvm_start_info.</summary>
    Pvh,
}
