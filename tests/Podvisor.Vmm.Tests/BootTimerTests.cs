using Podvisor.Vmm.Devices.BootTimer;

namespace Podvisor.Vmm.Tests;

public sealed class BootTimerTests
{
    [Fact]
    public void OnlyTheMagicByteRecordsAMark()
    {
        var start = DateTime.UtcNow.AddSeconds(-2);
        var timer = new BootTimer(start);
        TimeSpan? seen = null;
        timer.Marked += t => seen = t;
        timer.Write(0, [1]);
        timer.Write(0, [BootTimer.Magic, 0]);
        Assert.Empty(timer.Marks);
        timer.Write(0, [BootTimer.Magic]);
        var mark = Assert.Single(timer.Marks);
        Assert.InRange(mark, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(60));
        Assert.Equal(mark, seen);
        Assert.Equal(0, timer.Read(0));
    }
}
