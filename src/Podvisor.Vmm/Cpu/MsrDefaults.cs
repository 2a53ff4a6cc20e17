using Podvisor.Kvm.Abi;

namespace Podvisor.Vmm.Cpu;

/// <summary>MSR values a vCPU starts with (those Firecracker sets for a Linux boot).</summary>
public static class MsrDefaults
{
    public const uint SysenterCs = 0x174, SysenterEsp = 0x175, SysenterEip = 0x176, Tsc = 0x10, MiscEnable = 0x1a0,
        MtrrDefType = 0x2ff, Star = 0xc000_0081, Lstar = 0xc000_0082, Cstar = 0xc000_0083, SyscallMask = 0xc000_0084,
        KernelGsBase = 0xc000_0102;

    public static KvmMsrEntry[] Boot() =>
    [
        new(SysenterCs), new(SysenterEsp), new(SysenterEip),
        new(Star), new(Lstar), new(Cstar), new(KernelGsBase), new(SyscallMask),
        new(Tsc),
        new(MiscEnable, 1),                           // fast string operations
        new(MtrrDefType, (1 << 11) | 6),              // MTRRs on, default type write-back: RAM is cacheable
    ];
}
