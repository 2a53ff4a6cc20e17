using Podvisor.Kvm;
using Podvisor.Vmm.Diagnostics;

namespace Podvisor.Vmm.Tests;

public sealed class ExitStatisticsTests
{
    [Fact]
    public void CountsByReasonAndPortAndAddsUpOverAGuestsReboots()
    {
        var first = new ExitStatistics();
        first.Count(VcpuExitReason.Io, 0x3f8);
        first.Count(VcpuExitReason.Io, 0x3f8);
        first.Count(VcpuExitReason.Mmio);
        var second = new ExitStatistics();
        second.Count(VcpuExitReason.Io, 0x60);
        second.Count(VcpuExitReason.Hlt);

        Assert.Equal([(VcpuExitReason.Io, 2L), (VcpuExitReason.Mmio, 1L)], first.ByReason());
        var total = new ExitStatistics();
        total.Add(first);
        total.Add(second);
        Assert.Equal([(VcpuExitReason.Io, 3L), (VcpuExitReason.Hlt, 1L), (VcpuExitReason.Mmio, 1L)], total.ByReason());
        Assert.Equal(2, total.ForPort(0x3f8));
        Assert.Equal(1, total.ForPort(0x60));
        Assert.Equal(5, total.Total);
        Assert.Equal(3, first.Total);          // the parts are unchanged
    }
}
