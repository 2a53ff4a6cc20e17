namespace Podvisor.Vmm.Boot;

/// <summary>Where the loader puts things in low guest memory (the same map Firecracker uses).</summary>
public static class BootLayout
{
    public const ulong GdtAddress = 0x500;
    public const ulong IdtAddress = 0x520;
    public const ulong ZeroPageAddress = 0x7000;
    public const ulong BootStackPointer = 0x8ff0;
    public const ulong Pml4Address = 0x9000;
    public const ulong PdptAddress = 0xa000;
    public const ulong PdAddress = 0xb000;
    public const ulong MpTableAddress = 0x9fc00;   // the EBDA, where Linux scans for the MP floating pointer
    public const ulong CommandLineAddress = 0x20000;
    public const ulong EbdaStart = 0x9fc00;
    public const ulong HighMemoryStart = 0x100000; // 1 MiB: where the protected-mode kernel goes
    /// <summary>Guest-physical window kept free of RAM for device MMIO (the microVM convention, below 4 GiB).</summary>
    public const ulong MmioStart = 0xd000_0000;
}
