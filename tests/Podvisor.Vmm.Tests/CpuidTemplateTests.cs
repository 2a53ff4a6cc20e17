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
}
