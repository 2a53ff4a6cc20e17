namespace Podvisor.Kvm;

/// <summary>KVM_EXIT_*: why KVM_RUN returned.</summary>
public enum VcpuExitReason : uint
{
    Unknown = 0,
    Exception = 1,
    Io = 2,
    Hypercall = 3,
    Debug = 4,
    Hlt = 5,
    Mmio = 6,
    IrqWindowOpen = 7,
    Shutdown = 8,
    FailEntry = 9,
    /// <summary>KVM_RUN was interrupted by a signal or immediate_exit (a kick); nothing to emulate.</summary>
    Intr = 10,
    SetTpr = 11,
    TprAccess = 12,
    Nmi = 16,
    InternalError = 17,
    SystemEvent = 24,
    X86Rdmsr = 29,
    X86Wrmsr = 30,
}
