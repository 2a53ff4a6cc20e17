namespace Podvisor.Kvm.Tests;

public sealed class HostMemoryTests
{
    [Fact]
    public void HugePageBackedMemoryIsAlignedAndUsableToTheLastByte()
    {
        for (int i = 0; i < 4; i++)                                   // alignment must not depend on luck
        {
            using var memory = new HostMemory(6 << 20, transparentHugePages: true);
            Assert.Equal(0UL, memory.HostAddress % HostMemory.HugePageSize);
            memory.WriteValue(0, 0x1122334455667788UL);
            memory.WriteValue((6 << 20) - 8, 0x8877665544332211UL);
            Assert.Equal(0x1122334455667788UL, memory.ReadValue<ulong>(0));
            Assert.Equal(0x8877665544332211UL, memory.ReadValue<ulong>((6 << 20) - 8));
            Assert.Throws<ArgumentOutOfRangeException>(() => memory.GetSpan((6 << 20) - 4, 8));
        }
    }

    [Fact]
    public void HugePageAdviceIsVisibleToTheKernel()
    {
        using var memory = new HostMemory(4 << 20, transparentHugePages: true);
        string start = memory.HostAddress.ToString("x");
        // /proc/self/smaps names the advice "hg" in the mapping's VmFlags line.
        var lines = File.ReadAllLines("/proc/self/smaps");
        int header = Array.FindIndex(lines, l => l.StartsWith(start + "-", StringComparison.Ordinal));
        Assert.True(header >= 0, $"mapping {start} not in smaps");
        string flags = lines.Skip(header + 1).First(l => l.StartsWith("VmFlags:", StringComparison.Ordinal));
        if (File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled").Contains("[never]")) return;
        Assert.Contains(" hg", flags);
    }

    [Fact]
    public void BackedPagesAreThoseWrittenAndNotDiscarded()
    {
        using var memory = new HostMemory(8 << 20, transparentHugePages: false);
        Span<ulong> backed = stackalloc ulong[32];
        Assert.True(memory.TryFindBackedPages(0, 2048, backed), "/proc/self/pagemap should be readable by this process");
        Assert.All(backed.ToArray(), w => Assert.Equal(0UL, w));

        memory.WriteValue(3 * 4096 + 10, (byte)1);
        memory.WriteValue(1500 * 4096, (byte)1);
        Assert.True(memory.TryFindBackedPages(0, 2048, backed));
        Assert.Equal(1UL << 3, backed[0]);
        Assert.Equal(1UL << (1500 % 64), backed[1500 / 64]);
        Assert.Equal(2, backed.ToArray().Sum(w => System.Numerics.BitOperations.PopCount(w)));

        // Relative to the first page asked for.
        Span<ulong> tail = stackalloc ulong[1];
        Assert.True(memory.TryFindBackedPages(1490, 20, tail));
        Assert.Equal(1UL << 10, tail[0]);

        memory.Discard(1500 * 4096, 4096);
        Assert.True(memory.TryFindBackedPages(1490, 20, tail));
        Assert.Equal(0UL, tail[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.TryFindBackedPages(2040, 9, new ulong[1]));
    }

    private static long FreeHugePages2M() =>
        long.Parse(File.ReadAllText("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages").Trim());

    [Fact]
    public void HugeTlbMemoryComesFromThePoolOrFailsAtOnceSayingSo()
    {
        const ulong size = 8 << 20;                                   // four 2 MiB pages
        if (FreeHugePages2M() >= 4)
        {
            using var memory = HostMemory.WithHugeTlbPages(size, 2 << 20);
            memory.WriteValue(size - 8, 42UL);
            Assert.Equal(42UL, memory.ReadValue<ulong>(size - 8));
        }
        else
        {
            var e = Assert.Throws<KvmException>(() => HostMemory.WithHugeTlbPages(size, 2 << 20));
            Assert.Contains("HugePages_Free", e.Message);
            Assert.Contains("hugepages-2048kB/nr_hugepages", e.Message);
        }
    }

    [Fact]
    public void HugeTlbSizesAreChecked()
    {
        Assert.Contains("2 MiB or 1 GiB", Assert.Throws<ArgumentException>(() => HostMemory.WithHugeTlbPages(4 << 20, 4096)).Message);
        Assert.Contains("multiple", Assert.Throws<ArgumentException>(() => HostMemory.WithHugeTlbPages(3 << 20, 2 << 20)).Message);
    }
}
