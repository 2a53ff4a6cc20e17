using Podvisor.Vmm.Devices.Legacy;

namespace Podvisor.Vmm.Tests;

public sealed class LegacyDeviceTests
{
    [Fact]
    public void I8042ResetCommandRequestsAReset()
    {
        int resets = 0;
        var kbc = new I8042(() => resets++);
        kbc.Write(4, 0xfe);
        Assert.Equal(1, resets);
    }

    [Fact]
    public void I8042AnswersControllerCommands()
    {
        var kbc = new I8042(() => { });
        kbc.Write(4, 0xaa);                            // self test
        Assert.Equal(0x01, kbc.Read(4) & 0x01);        // output buffer full
        Assert.Equal(0x55, kbc.Read(0));
        Assert.Equal(0x00, kbc.Read(4) & 0x01);
        kbc.Write(4, 0x60);                            // write CTR
        kbc.Write(0, 0x31);
        kbc.Write(4, 0x20);                            // read CTR
        Assert.Equal(0x31, kbc.Read(0));
        kbc.Write(0, 0xf4);                            // a keyboard command is ACKed
        Assert.Equal(0xfa, kbc.Read(0));
    }

    [Fact]
    public void CmosReportsTheClockInBcd()
    {
        var rtc = new CmosRtc(() => new DateTimeOffset(2026, 11, 25, 19, 7, 58, TimeSpan.Zero));
        byte Reg(byte index)
        {
            rtc.Write(0, (byte)(index | 0x80));        // NMI-disable bit must not change the index
            return rtc.Read(1);
        }
        Assert.Equal(0x58, Reg(0x00));
        Assert.Equal(0x07, Reg(0x02));
        Assert.Equal(0x19, Reg(0x04));
        Assert.Equal(0x25, Reg(0x07));
        Assert.Equal(0x11, Reg(0x08));
        Assert.Equal(0x26, Reg(0x09));
        Assert.Equal(0x20, Reg(0x32));
        Assert.Equal(0x04, Reg(0x06));                 // Wednesday = 4 (Sunday = 1)
        Assert.Equal(0x00, Reg(0x0a) & 0x80);          // never mid-update
        Assert.Equal(0x02, Reg(0x0b));                 // 24-hour, BCD
    }

    [Fact]
    public void CmosRamKeepsWritesButNotToTheClock()
    {
        var rtc = new CmosRtc(() => DateTimeOffset.UnixEpoch);
        rtc.Write(0, 0x40);
        rtc.Write(1, 0x99);
        rtc.Write(0, 0x00);
        rtc.Write(1, 0x42);
        rtc.Write(0, 0x40);
        Assert.Equal(0x99, rtc.Read(1));
        rtc.Write(0, 0x00);
        Assert.Equal(0x00, rtc.Read(1));
    }

    [Fact]
    public void PortBusRoutesAndCountsUnclaimedPorts()
    {
        var bus = new Devices.PortIoBus();
        var rtc = new CmosRtc(() => DateTimeOffset.UnixEpoch);
        bus.Register(0x70, 2, rtc);
        Assert.Throws<ArgumentException>(() => bus.Register(0x71, 1, rtc));
        Span<byte> b = stackalloc byte[1];
        bus.Write(0x70, [0x0d]);
        bus.Read(0x71, b);
        Assert.Equal(0x80, b[0]);
        bus.Read(0x1234, b);
        Assert.Equal(0xff, b[0]);
        bus.Write(0x80, [1]);
        Assert.Equal(2, bus.UnclaimedAccesses);
    }
}
