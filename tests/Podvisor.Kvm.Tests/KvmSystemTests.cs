namespace Podvisor.Kvm.Tests;

/// <summary>The system fd: version, capabilities, supported CPUID and MSR lists.</summary>
[Trait("Category", "Kvm")]
public sealed class KvmSystemTests
{
    [Fact]
    public void OpensWithApiVersion12()
    {
        using var kvm = Kvm.Open();
        Assert.Equal(12, kvm.ApiVersion);
        Assert.True(kvm.VcpuMmapSize >= 4096, $"vCPU mmap size {kvm.VcpuMmapSize}");
    }

    [Theory]
    [InlineData(KvmCapability.UserMemory)]
    [InlineData(KvmCapability.Irqchip)]
    [InlineData(KvmCapability.Irqfd)]
    [InlineData(KvmCapability.Ioeventfd)]
    [InlineData(KvmCapability.ImmediateExit)]
    [InlineData(KvmCapability.IrqRouting)]
    [InlineData(KvmCapability.Pit2)]
    [InlineData(KvmCapability.VcpuEvents)]
    [InlineData(KvmCapability.Debugregs)]
    [InlineData(KvmCapability.Xsave)]
    [InlineData(KvmCapability.Xcrs)]
    [InlineData(KvmCapability.MpState)]
    [InlineData(KvmCapability.AdjustClock)]
    [InlineData(KvmCapability.SetTssAddr)]
    [InlineData(KvmCapability.ManualDirtyLogProtect2)]
    public void ReportsTheCapabilitiesPodvisorNeeds(KvmCapability capability)
    {
        using var kvm = Kvm.Open();
        Assert.True(kvm.CheckExtension(capability) > 0, $"{capability} is not supported by this host's KVM");
    }

    [Fact]
    public void UnknownCapabilityIsZeroNotAnError()
    {
        using var kvm = Kvm.Open();
        Assert.Equal(0, kvm.CheckExtension((KvmCapability)100_000));
    }

    [Fact]
    public void SupportedCpuidHasTheBasicAndKvmLeaves()
    {
        using var kvm = Kvm.Open();
        var cpuid = kvm.GetSupportedCpuid();
        Assert.Contains(cpuid, e => e.Function == 0);
        Assert.Contains(cpuid, e => e.Function == 1);
        // KVM's paravirt leaf: "KVMKVMKVM\0\0\0" in ebx/ecx/edx.
        var kvmLeaf = Assert.Single(cpuid, e => e.Function == 0x4000_0000);
        Assert.Equal(0x4b4d564bu, kvmLeaf.Ebx);
    }

    [Fact]
    public void MsrIndexListHasTheTscAndSysenterMsrs()
    {
        using var kvm = Kvm.Open();
        var msrs = kvm.GetMsrIndexList();
        Assert.Contains(0x10u, msrs);    // IA32_TIME_STAMP_COUNTER
        Assert.Contains(0x174u, msrs);   // IA32_SYSENTER_CS
        Assert.Contains(0xC0000102u, msrs); // KERNEL_GS_BASE
    }

    [Fact]
    public void FeatureMsrListIsReadable()
    {
        using var kvm = Kvm.Open();
        // The list may legitimately be empty on some hosts; the call itself must work.
        Assert.NotNull(kvm.GetMsrFeatureIndexList());
    }

    [Fact]
    public void TssAndIdentityMapAddressesAreAccepted()
    {
        using var kvm = Kvm.Open();
        using var vm = kvm.CreateVm();
        vm.SetTssAddress(0xFFFB_D000);
        vm.SetIdentityMapAddress(0xFFFB_C000);
    }
}
