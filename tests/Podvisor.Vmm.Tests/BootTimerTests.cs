using Podvisor.Vmm.Devices.BootTimer;

namespace Podvisor.Vmm.Tests;

public sealed class BootTimerTests
{
    [Fact]
    public void OnlyTheMagicByteRecordsAMark()
    {
        var timer = new BootTimer(() => TimeSpan.FromSeconds(2));
        TimeSpan? seen = null;
        timer.Marked += t => seen = t;
        timer.Write(0, [1]);
        timer.Write(0, [BootTimer.Magic, 0]);
        Assert.Empty(timer.Marks);
        timer.Write(0, [BootTimer.Magic]);
        var mark = Assert.Single(timer.Marks);
        Assert.Equal(TimeSpan.FromSeconds(2), mark);
        Assert.Equal(mark, seen);
        Assert.Equal(0, timer.Read(0));
    }

    [Fact]
    public void ProcessClockAgreesWithProcessStartTime()
    {
        var slow = DateTime.Now - System.Diagnostics.Process.GetCurrentProcess().StartTime;
        var fast = Diagnostics.ProcessClock.SinceStart;
        // Both count from the same /proc start time (10 ms ticks); they differ by the time between the two reads.
        Assert.InRange((fast - slow).TotalMilliseconds, -50, 50);
    }
}
