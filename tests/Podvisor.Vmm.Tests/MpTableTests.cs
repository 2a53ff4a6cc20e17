using System.Buffers.Binary;
using Podvisor.Vmm.Boot;

namespace Podvisor.Vmm.Tests;

public sealed class MpTableTests
{
    private static byte Sum(ReadOnlySpan<byte> bytes)
    {
        int sum = 0;
        foreach (byte b in bytes) sum += b;
        return (byte)sum;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(254)]
    public void PointerAndTableChecksumAndCountEntries(int cpus)
    {
        byte[] table = MpTable.Build(cpus);
        var pointer = table.AsSpan(0, 16);
        Assert.Equal("_MP_"u8.ToArray(), pointer[..4].ToArray());
        Assert.Equal((uint)BootLayout.MpTableAddress + 16, BinaryPrimitives.ReadUInt32LittleEndian(pointer[4..]));
        Assert.Equal(0, Sum(pointer));

        var config = table.AsSpan(16);
        Assert.Equal("PCMP"u8.ToArray(), config[..4].ToArray());
        ushort length = BinaryPrimitives.ReadUInt16LittleEndian(config[4..]);
        Assert.Equal(config.Length, length);
        Assert.Equal(0, Sum(config));
        Assert.Equal(MpTable.LocalApicAddress, BinaryPrimitives.ReadUInt32LittleEndian(config[36..]));

        // Entries: processors (20 bytes, type 0) first, then 8-byte entries.
        int processors = 0, ioApics = 0, ioInterrupts = 0, localInterrupts = 0, bootCpus = 0;
        int offset = 44;
        while (offset < length)
        {
            switch (config[offset])
            {
                case 0:
                    processors++;
                    if ((config[offset + 3] & 0x02) != 0) bootCpus++;
                    Assert.Equal(processors - 1, config[offset + 1]);
                    offset += 20;
                    break;
                case 2:
                    ioApics++;
                    Assert.Equal(MpTable.IoApicId(cpus), config[offset + 1]);
                    offset += 8;
                    break;
                case 3: ioInterrupts++; offset += 8; break;
                case 4: localInterrupts++; offset += 8; break;
                default: offset += 8; break;
            }
        }
        Assert.Equal((cpus, 1, 1, 16, 2), (processors, bootCpus, ioApics, ioInterrupts, localInterrupts));
        Assert.Equal(cpus + 1 + 1 + 16 + 2, BinaryPrimitives.ReadUInt16LittleEndian(config[34..]));
    }

    [Fact]
    public void FitsBelowOneMiBForTheLargestVm() =>
        Assert.True(BootLayout.MpTableAddress + (ulong)MpTable.Build(254).Length <= BootLayout.HighMemoryStart);
}
