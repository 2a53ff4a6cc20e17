using Podvisor.Kvm.Abi;
using Podvisor.Vmm.Cpu;

namespace Podvisor.Vmm.Tests;

public sealed class CpuidTemplateTests
{
    [Fact]
    public void SetsApicIdCountAndHypervisorBit()
    {
        KvmCpuidEntry2[] supported =
        [
            new() { Function = 1, Ebx = 0xff00_0800, Ecx = 0, Edx = 1u << 28 },
            new() { Function = 0xb, Index = 0, Edx = 0 },
            new() { Function = 0xb, Index = 1, Edx = 0 },
        ];
        var one = CpuidTemplate.ForVcpu(supported, apicId: 3, cpuCount: 1);
        Assert.Equal(0x0301_0800u, one[0].Ebx);
        Assert.NotEqual(0u, one[0].Ecx & (1u << 31));
        Assert.Equal(0u, one[0].Edx & (1u << 28));
        Assert.All(one[1..], e => Assert.Equal(3u, e.Edx));

        var four = CpuidTemplate.ForVcpu(supported, apicId: 1, cpuCount: 4);
        Assert.Equal(0x0104_0800u, four[0].Ebx);
        Assert.NotEqual(0u, four[0].Edx & (1u << 28));
        Assert.Equal(0xff00_0800u, supported[0].Ebx);   // the input is not modified
    }

    [Fact]
    public void WithoutXsaveHidesXsaveTheAvxFamilyAndLeafD()
    {
        KvmCpuidEntry2[] supported =
        [
            new() { Function = 1, Ecx = 0x76f8_3203 },                   // what KVM offered inside the emulated host
            new() { Function = 7, Index = 0, Ebx = 0x0198_03ab, Ecx = 0x0001_020c },
            new() { Function = 0xd, Index = 0, Eax = 0x207 },
            new() { Function = 0xd, Index = 2, Eax = 0x100 },
        ];
        var kept = CpuidTemplate.ForVcpu(supported, 0, 1);
        Assert.Equal(4, kept.Length);
        Assert.NotEqual(0u, kept[0].Ecx & (1u << 26));

        var hidden = CpuidTemplate.ForVcpu(supported, 0, 1, withoutXsave: true);
        Assert.Equal([1u, 7u], hidden.Select(e => e.Function));
        Assert.Equal(0u, hidden[0].Ecx & ((1u << 26) | (1u << 27) | (1u << 28)));   // XSAVE, OSXSAVE, AVX
        Assert.NotEqual(0u, hidden[0].Ecx & 1u);                                    // SSE3 stays
        Assert.Equal(0u, hidden[1].Ebx & (1u << 5));                                // AVX2
        Assert.Equal(0u, hidden[1].Ecx & (1u << 3));                                // PKU
        Assert.NotEqual(0u, hidden[1].Ebx & 1u);                                    // FSGSBASE stays
    }

    [Fact]
    public void TheInvariantTscFlagIsHiddenBecauseAVmMayMigrate()
    {
        KvmCpuidEntry2[] supported = [new() { Function = 0x8000_0007, Edx = (1u << 8) | (1u << 9) }];
        var entry = CpuidTemplate.ForVcpu(supported, 0, 1)[0];
        Assert.Equal(1u << 9, entry.Edx);      // only the invariant-TSC bit goes
    }

    [Fact]
    public void TheTscDeadlineTimerIsOfferedOnlyWhereKvmEmulatesIt()
    {
        KvmCpuidEntry2[] supported = [new() { Function = 1, Ecx = 1u }];     // KVM never reports bit 24 itself
        Assert.Equal(0u, CpuidTemplate.ForVcpu(supported, 0, 1)[0].Ecx & (1u << 24));
        Assert.NotEqual(0u, CpuidTemplate.ForVcpu(supported, 0, 1, tscDeadline: true)[0].Ecx & (1u << 24));
    }

    [Fact]
    public void HostCpuDetectionDoesNotThrow() => _ = HostCpu.IsQemuTcg;
}
