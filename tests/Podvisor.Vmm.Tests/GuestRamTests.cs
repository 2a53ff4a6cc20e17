using Podvisor.Vmm.Boot;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Tests;

/// <summary>RAM larger than the space below the MMIO window continues at 4 GiB (scaled down: a 48 MiB "window").</summary>
public sealed class GuestRamTests : IDisposable
{
    private const ulong Low = 48 << 20, Total = 64 << 20;
    private readonly GuestRam _ram = new(Total, lowMemoryLimit: Low);

    public void Dispose() => _ram.Dispose();

    [Fact]
    public void SmallRamIsOneRegionFromZero()
    {
        using var small = new GuestRam(32 << 20, lowMemoryLimit: Low);
        var region = Assert.Single(small.Regions);
        Assert.Equal((0UL, 32UL << 20, 0UL), (region.Start.Value, region.Size, region.HostOffset));
        Assert.Equal(32UL << 20, small.End.Value);
    }

    [Fact]
    public void LargeRamContinuesAtFourGiB()
    {
        Assert.Equal(2, _ram.Regions.Count);
        Assert.Equal((0UL, Low, 0UL), (_ram.Regions[0].Start.Value, _ram.Regions[0].Size, _ram.Regions[0].HostOffset));
        Assert.Equal((GuestRam.HighMemoryStart, Total - Low, Low), (_ram.Regions[1].Start.Value, _ram.Regions[1].Size, _ram.Regions[1].HostOffset));
        Assert.Equal(GuestRam.HighMemoryStart + Total - Low, _ram.End.Value);
        Assert.Equal(Low, _ram.LowEnd.Value);
    }

    [Fact]
    public void HighAddressesReachTheRestOfTheHostMapping()
    {
        _ram.TakeVmmDirty();
        _ram.Write(new GuestAddress(GuestRam.HighMemoryStart + 8), [1, 2, 3]);
        Assert.Equal([1, 2, 3], _ram.Host.GetSpan(Low + 8, 3).ToArray());
        Assert.Equal([Low / GuestRam.PageSize], _ram.TakeVmmDirty().DirtyPages());   // pages are host-offset pages
    }

    [Theory]
    [InlineData(Low, 1)]                                  // the MMIO hole
    [InlineData(Low - 2, 4)]                              // a span running into the hole
    [InlineData(GuestRam.HighMemoryStart - 1, 2)]          // a span running out of the hole into high RAM
    [InlineData(GuestRam.HighMemoryStart + Total - Low - 1, 2)] // past the end
    public void AccessOutsideRamIsRefused(ulong address, int length) =>
        Assert.Throws<GuestMemoryException>(() => _ram.GetSpan(new GuestAddress(address), length));

    [Theory]
    [InlineData(0UL, Low, true)]                                          // all of low RAM
    [InlineData(GuestRam.HighMemoryStart, Total - Low, true)]               // all of high RAM
    [InlineData(Low, 0UL, true)]                                          // empty, at the end of low RAM
    [InlineData(Low - 2, 4UL, false)]                                     // into the hole
    [InlineData(GuestRam.HighMemoryStart - 1, 2UL, false)]                 // out of the hole
    [InlineData(0UL, GuestRam.HighMemoryStart + Total, false)]            // spans both regions and the hole
    [InlineData(GuestRam.HighMemoryStart + Total - Low - 1, 2UL, false)]  // past the end
    [InlineData(ulong.MaxValue - 2, 8UL, false)]                          // wraps around
    public void ContainsOnlyRangesInsideOneRegion(ulong address, ulong length, bool inside) =>
        Assert.Equal(inside, _ram.Contains(address, length));

    [Fact]
    public void E820ListsHighRamAndTheLoaderStaysLow()
    {
        var kernel = BzImage.Load(GuestImages.MicrovmKernel);
        var boot = LinuxLoader.Load(_ram, kernel, new byte[100_000], "x");
        Assert.Equal(new E820Entry(GuestRam.HighMemoryStart, Total - Low, E820Type.Ram), boot.MemoryMap[^1]);
        Assert.Equal(Total - (BootLayout.HighMemoryStart - BootLayout.EbdaStart),
            boot.MemoryMap.Where(e => e.Type == E820Type.Ram).Aggregate(0UL, (sum, e) => sum + e.Size));
        Assert.True(boot.InitrdAddress + boot.InitrdSize <= Low);
    }
}
