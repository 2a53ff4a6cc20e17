namespace Podvisor.Kvm.Tests;

public sealed class DirtyBitmapTests
{
    [Fact]
    public void MarksCountsAndListsPages()
    {
        var bitmap = new DirtyBitmap(130);
        bitmap.MarkDirty(0);
        bitmap.MarkDirty(63);
        bitmap.MarkDirty(64);
        bitmap.MarkDirty(129);
        Assert.Equal(3, bitmap.Words.Length);
        Assert.Equal(4UL, bitmap.CountDirty());
        Assert.Equal([0UL, 63, 64, 129], bitmap.DirtyPages());
        Assert.True(bitmap.IsDirty(64));
        Assert.False(bitmap.IsDirty(65));
        Assert.Throws<ArgumentOutOfRangeException>(() => bitmap.MarkDirty(130));
    }

    [Fact]
    public void UnionOrsBitmapsOfTheSameSlot()
    {
        var kvmLog = new DirtyBitmap(100);
        var vmmWrites = new DirtyBitmap(100);
        kvmLog.MarkDirty(1);
        vmmWrites.MarkDirty(99);
        kvmLog.UnionWith(vmmWrites);
        Assert.Equal([1UL, 99], kvmLog.DirtyPages());
        Assert.Throws<ArgumentException>(() => kvmLog.UnionWith(new DirtyBitmap(10)));
    }
}
