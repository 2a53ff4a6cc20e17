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
}
