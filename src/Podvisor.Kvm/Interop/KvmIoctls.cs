using System.Runtime.CompilerServices;
using Podvisor.Kvm.Abi;
using static Podvisor.Kvm.Interop.IoctlNumber;

namespace Podvisor.Kvm.Interop;

/// <summary>
/// Request numbers of the KVM ioctls we use, built like linux/kvm.h builds them. A test compiles a C
/// program against the kernel headers and compares every number here with the kernel's own.
/// </summary>
internal static class KvmIoctls
{
    private const uint KvmIo = 0xAE;
    private static int S<T>() where T : unmanaged => Unsafe.SizeOf<T>();

    // System (/dev/kvm)
    public static readonly uint GetApiVersion = Io(KvmIo, 0x00);
    public static readonly uint CreateVm = Io(KvmIo, 0x01);
    public static readonly uint GetMsrIndexList = IoWR(KvmIo, 0x02, 4);          // struct kvm_msr_list header
    public static readonly uint CheckExtension = Io(KvmIo, 0x03);
    public static readonly uint GetVcpuMmapSize = Io(KvmIo, 0x04);
    public static readonly uint GetSupportedCpuid = IoWR(KvmIo, 0x05, 8);        // struct kvm_cpuid2 header
    public static readonly uint GetMsrFeatureIndexList = IoWR(KvmIo, 0x0a, 4);

    // VM
    public static readonly uint CreateVcpu = Io(KvmIo, 0x41);
    public static readonly uint GetDirtyLog = IoW(KvmIo, 0x42, S<KvmDirtyLog>());
    public static readonly uint SetUserMemoryRegion = IoW(KvmIo, 0x46, S<KvmUserspaceMemoryRegion>());
    public static readonly uint SetTssAddr = Io(KvmIo, 0x47);
    public static readonly uint SetIdentityMapAddr = IoW(KvmIo, 0x48, 8);
    public static readonly uint CreateIrqchip = Io(KvmIo, 0x60);
    public static readonly uint IrqLine = IoW(KvmIo, 0x61, S<KvmIrqLevel>());
    public static readonly uint GetIrqchip = IoWR(KvmIo, 0x62, S<KvmIrqchip>());
    public static readonly uint SetIrqchip = IoR(KvmIo, 0x63, S<KvmIrqchip>());
    public static readonly uint IrqLineStatus = IoWR(KvmIo, 0x67, S<KvmIrqLevel>());
    public static readonly uint SetGsiRouting = IoW(KvmIo, 0x6a, 8);             // struct kvm_irq_routing header
    public static readonly uint Irqfd = IoW(KvmIo, 0x76, S<KvmIrqfd>());
    public static readonly uint CreatePit2 = IoW(KvmIo, 0x77, S<KvmPitConfig>());
    public static readonly uint Ioeventfd = IoW(KvmIo, 0x79, S<KvmIoeventfd>());
    public static readonly uint SetClock = IoW(KvmIo, 0x7b, S<KvmClockData>());
    public static readonly uint GetClock = IoR(KvmIo, 0x7c, S<KvmClockData>());
    public static readonly uint GetPit2 = IoR(KvmIo, 0x9f, S<KvmPitState2>());
    public static readonly uint SetPit2 = IoW(KvmIo, 0xa0, S<KvmPitState2>());
    public static readonly uint EnableCap = IoW(KvmIo, 0xa3, S<KvmEnableCap>());
    public static readonly uint ClearDirtyLog = IoWR(KvmIo, 0xc0, S<KvmClearDirtyLog>());

    // vCPU
    public static readonly uint Run = Io(KvmIo, 0x80);
    public static readonly uint GetRegs = IoR(KvmIo, 0x81, S<KvmRegs>());
    public static readonly uint SetRegs = IoW(KvmIo, 0x82, S<KvmRegs>());
    public static readonly uint GetSregs = IoR(KvmIo, 0x83, S<KvmSregs>());
    public static readonly uint SetSregs = IoW(KvmIo, 0x84, S<KvmSregs>());
    public static readonly uint GetMsrs = IoWR(KvmIo, 0x88, 8);                 // struct kvm_msrs header
    public static readonly uint SetMsrs = IoW(KvmIo, 0x89, 8);
    public static readonly uint SetSignalMask = IoW(KvmIo, 0x8b, 4);            // struct kvm_signal_mask header
    public static readonly uint GetFpu = IoR(KvmIo, 0x8c, S<KvmFpu>());
    public static readonly uint SetFpu = IoW(KvmIo, 0x8d, S<KvmFpu>());
    public static readonly uint GetLapic = IoR(KvmIo, 0x8e, S<KvmLapicState>());
    public static readonly uint SetLapic = IoW(KvmIo, 0x8f, S<KvmLapicState>());
    public static readonly uint SetCpuid2 = IoW(KvmIo, 0x90, 8);
    public static readonly uint GetCpuid2 = IoWR(KvmIo, 0x91, 8);
    public static readonly uint GetMpState = IoR(KvmIo, 0x98, 4);
    public static readonly uint SetMpState = IoW(KvmIo, 0x99, 4);
    public static readonly uint GetVcpuEvents = IoR(KvmIo, 0x9f, S<KvmVcpuEvents>());
    public static readonly uint SetVcpuEvents = IoW(KvmIo, 0xa0, S<KvmVcpuEvents>());
    public static readonly uint GetDebugRegs = IoR(KvmIo, 0xa1, S<KvmDebugRegs>());
    public static readonly uint SetDebugRegs = IoW(KvmIo, 0xa2, S<KvmDebugRegs>());
    public static readonly uint SetTscKhz = Io(KvmIo, 0xa2);
    public static readonly uint GetTscKhz = Io(KvmIo, 0xa3);
    public static readonly uint GetXsave = IoR(KvmIo, 0xa4, Xsave.LegacySize);
    public static readonly uint SetXsave = IoW(KvmIo, 0xa5, Xsave.LegacySize);
    public static readonly uint GetXcrs = IoR(KvmIo, 0xa6, S<KvmXcrs>());
    public static readonly uint SetXcrs = IoW(KvmIo, 0xa7, S<KvmXcrs>());
    public static readonly uint KvmclockCtrl = Io(KvmIo, 0xad);
    public static readonly uint GetXsave2 = IoR(KvmIo, 0xcf, Xsave.LegacySize);

    /// <summary>Every request number by its kernel name, for the ABI test and for error messages.</summary>
    public static IReadOnlyDictionary<string, uint> All { get; } = new Dictionary<string, uint>
    {
        ["KVM_GET_API_VERSION"] = GetApiVersion, ["KVM_CREATE_VM"] = CreateVm,
        ["KVM_GET_MSR_INDEX_LIST"] = GetMsrIndexList, ["KVM_CHECK_EXTENSION"] = CheckExtension,
        ["KVM_GET_VCPU_MMAP_SIZE"] = GetVcpuMmapSize, ["KVM_GET_SUPPORTED_CPUID"] = GetSupportedCpuid,
        ["KVM_GET_MSR_FEATURE_INDEX_LIST"] = GetMsrFeatureIndexList,
        ["KVM_CREATE_VCPU"] = CreateVcpu, ["KVM_GET_DIRTY_LOG"] = GetDirtyLog,
        ["KVM_SET_USER_MEMORY_REGION"] = SetUserMemoryRegion, ["KVM_SET_TSS_ADDR"] = SetTssAddr,
        ["KVM_SET_IDENTITY_MAP_ADDR"] = SetIdentityMapAddr, ["KVM_CREATE_IRQCHIP"] = CreateIrqchip,
        ["KVM_IRQ_LINE"] = IrqLine, ["KVM_GET_IRQCHIP"] = GetIrqchip, ["KVM_SET_IRQCHIP"] = SetIrqchip,
        ["KVM_IRQ_LINE_STATUS"] = IrqLineStatus, ["KVM_SET_GSI_ROUTING"] = SetGsiRouting,
        ["KVM_IRQFD"] = Irqfd, ["KVM_CREATE_PIT2"] = CreatePit2, ["KVM_IOEVENTFD"] = Ioeventfd,
        ["KVM_SET_CLOCK"] = SetClock, ["KVM_GET_CLOCK"] = GetClock, ["KVM_GET_PIT2"] = GetPit2,
        ["KVM_SET_PIT2"] = SetPit2, ["KVM_ENABLE_CAP"] = EnableCap, ["KVM_CLEAR_DIRTY_LOG"] = ClearDirtyLog,
        ["KVM_RUN"] = Run, ["KVM_GET_REGS"] = GetRegs, ["KVM_SET_REGS"] = SetRegs,
        ["KVM_GET_SREGS"] = GetSregs, ["KVM_SET_SREGS"] = SetSregs, ["KVM_GET_MSRS"] = GetMsrs,
        ["KVM_SET_MSRS"] = SetMsrs, ["KVM_SET_SIGNAL_MASK"] = SetSignalMask, ["KVM_GET_FPU"] = GetFpu,
        ["KVM_SET_FPU"] = SetFpu, ["KVM_GET_LAPIC"] = GetLapic, ["KVM_SET_LAPIC"] = SetLapic,
        ["KVM_SET_CPUID2"] = SetCpuid2, ["KVM_GET_CPUID2"] = GetCpuid2, ["KVM_GET_MP_STATE"] = GetMpState,
        ["KVM_SET_MP_STATE"] = SetMpState, ["KVM_GET_VCPU_EVENTS"] = GetVcpuEvents,
        ["KVM_SET_VCPU_EVENTS"] = SetVcpuEvents, ["KVM_GET_DEBUGREGS"] = GetDebugRegs,
        ["KVM_SET_DEBUGREGS"] = SetDebugRegs, ["KVM_SET_TSC_KHZ"] = SetTscKhz, ["KVM_GET_TSC_KHZ"] = GetTscKhz,
        ["KVM_GET_XSAVE"] = GetXsave, ["KVM_SET_XSAVE"] = SetXsave, ["KVM_GET_XCRS"] = GetXcrs,
        ["KVM_SET_XCRS"] = SetXcrs, ["KVM_KVMCLOCK_CTRL"] = KvmclockCtrl, ["KVM_GET_XSAVE2"] = GetXsave2,
    };

    public static string NameOf(uint request) =>
        All.FirstOrDefault(kv => kv.Value == request).Key ?? $"ioctl 0x{request:x8}";
}
