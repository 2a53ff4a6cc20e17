namespace Podvisor.Kvm;

/// <summary>KVM_CAP_* values for KVM_CHECK_EXTENSION (linux/kvm.h).</summary>
public enum KvmCapability
{
    Irqchip = 0, Hlt = 1, UserMemory = 3, SetTssAddr = 4, ExtCpuid = 7, Clocksource = 8, NrVcpus = 9,
    NrMemslots = 10, Pit = 11, NopIoDelay = 12, MpState = 14, CoalescedMmio = 15, SyncMmu = 16,
    UserNmi = 22, SetGuestDebug = 23, ReinjectControl = 24, IrqRouting = 25, IrqInjectStatus = 26,
    Mce = 31, Irqfd = 32, Pit2 = 33, SetBootCpuId = 34, PitState2 = 35, Ioeventfd = 36,
    SetIdentityMapAddr = 37, AdjustClock = 39, InternalErrorData = 40, VcpuEvents = 41, IntrShadow = 49,
    Debugregs = 50, EnableCap = 54, Xsave = 55, Xcrs = 56, AsyncPf = 59, TscControl = 60, GetTscKhz = 61,
    MaxVcpus = 66, OneReg = 70, TscDeadlineTimer = 72, SyncRegs = 74, KvmclockCtrl = 76, SignalMsi = 77,
    ReadonlyMem = 81, IrqfdResample = 82, ExtEmulCpuid = 95, IoeventfdNoLength = 100,
    CheckExtensionVm = 105, DisableQuirks = 116, X86Smm = 117, SplitIrqchip = 121, IoeventfdAnyLength = 122,
    MaxVcpuId = 128, X2apicApi = 129, ImmediateExit = 136, X86DisableExits = 143, GetMsrFeatures = 153,
    NestedState = 157, MsrPlatformInfo = 159, CoalescedPio = 162, ExceptionPayload = 164,
    ManualDirtyLogProtect2 = 168, HaltPoll = 182, X86UserSpaceMsr = 188, X86MsrFilter = 189,
    DirtyLogRing = 192, Sregs2 = 200, BinaryStatsFd = 203, Xsave2 = 208, VmTscControl = 214,
    X86TripleFaultEvent = 218,
}
