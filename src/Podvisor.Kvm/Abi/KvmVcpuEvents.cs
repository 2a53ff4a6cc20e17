using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_vcpu_events: pending/injected exceptions, interrupts, NMI, SMI, SIPI.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmVcpuEvents
{
    public const uint ValidNmiPending = 0x1, ValidSipiVector = 0x2, ValidShadow = 0x4, ValidSmm = 0x8,
        ValidPayload = 0x10, ValidTripleFault = 0x20;

    public byte ExceptionInjected, ExceptionNr, ExceptionHasErrorCode, ExceptionPending;
    public uint ExceptionErrorCode;
    public byte InterruptInjected, InterruptNr, InterruptSoft, InterruptShadow;
    public byte NmiInjected, NmiPending, NmiMasked;
    private byte _nmiPad;
    public uint SipiVector;
    public uint Flags;
    public byte SmiSmm, SmiPending, SmiInsideNmi, SmiLatchedInit;
    public byte TripleFaultPending;
    private Reserved26 _reserved;
    public byte ExceptionHasPayload;
    public ulong ExceptionPayload;

    [System.Runtime.CompilerServices.InlineArray(26)]
    private struct Reserved26 { private byte _e; }
}
