namespace Podvisor.Kvm;

/// <summary>
/// struct kvm_xsave: the vCPU's XSAVE area. 4 KiB for KVM_GET_XSAVE; with KVM_CAP_XSAVE2 the kernel
/// reports a larger size (AMX state) and KVM_GET_XSAVE2 fills all of it, so the size is variable.
/// </summary>
public sealed class Xsave
{
    public const int LegacySize = 4096;

    public Xsave(int size = LegacySize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, LegacySize);
        Region = new byte[size];
    }

    public Xsave(byte[] region)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(region.Length, LegacySize);
        Region = region;
    }

    /// <summary>The raw area in XSAVE layout (legacy region, header at 512, extended components after).</summary>
    public byte[] Region { get; }

    /// <summary>XSTATE_BV from the XSAVE header: which components the area holds.</summary>
    public ulong XstateBv => BitConverter.ToUInt64(Region, 512);
}
