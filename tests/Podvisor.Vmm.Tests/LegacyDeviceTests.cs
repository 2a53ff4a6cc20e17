using Podvisor.Vmm.Devices.Legacy;

namespace Podvisor.Vmm.Tests;

public sealed class LegacyDeviceTests
{
    [Fact]
    public void I8042ResetCommandRequestsAReset()
    {
        int resets = 0;
        var kbc = new I8042(new LevelInterrupt(), () => resets++);
        kbc.Write(4, 0xfe);
        Assert.Equal(1, resets);
    }

    [Fact]
    public void I8042AnswersControllerCommands()
    {
        var kbc = new I8042(new LevelInterrupt(), () => { });
        kbc.Write(4, 0xaa);                            // self test
        Assert.Equal(0x01, kbc.Read(4) & 0x01);        // output buffer full
        Assert.Equal(0x55, kbc.Read(0));
        Assert.Equal(0x00, kbc.Read(4) & 0x01);
        kbc.Write(4, 0x60);                            // write CTR
        kbc.Write(0, 0x31);
        kbc.Write(4, 0x20);                            // read CTR
        Assert.Equal(0x31, kbc.Read(0));
        kbc.Write(4, 0xab);                            // keyboard interface test: fine
        Assert.Equal(0x00, kbc.Read(0));
    }

    private static byte Ctr(I8042 kbc)
    {
        kbc.Write(4, 0x20);
        return kbc.Read(0);
    }

    [Fact]
    public void I8042PortDisableCommandsShowInTheCommandByte()
    {
        var kbc = new I8042(new LevelInterrupt(), () => { });
        kbc.Write(4, 0xa7);                            // AUX off: bit 5
        Assert.Equal(0x20, Ctr(kbc) & 0x20);
        kbc.Write(4, 0xa8);
        Assert.Equal(0x00, Ctr(kbc) & 0x20);
        kbc.Write(4, 0xad);                            // keyboard off: bit 4
        Assert.Equal(0x10, Ctr(kbc) & 0x10);
        kbc.Write(4, 0xae);
        Assert.Equal(0x00, Ctr(kbc) & 0x10);
        kbc.Write(4, 0xad);
        kbc.Write(0, 0xf4);                            // a byte sent to the keyboard enables its port again
        Assert.Equal(0xfa, kbc.Read(0));
        Assert.Equal(0x00, Ctr(kbc) & 0x10);
    }

    [Fact]
    public void I8042HasNoMousePortAndSaysSoAtOnce()
    {
        // Linux's probe: the AUX loopback must come back marked as AUX data, and the AUX interface test must pass,
        // for it to believe in a mouse port. Both fail here without a wait; nothing is left for the keyboard.
        var kbc = new I8042(new LevelInterrupt(), () => { });
        kbc.Write(4, 0xd3);                            // AUX loopback
        kbc.Write(0, 0x5a);
        Assert.Equal(0x01, kbc.Read(4) & 0x21);        // answered at once, not as AUX data
        Assert.Equal(0x5a, kbc.Read(0));
        kbc.Write(4, 0xa9);                            // AUX interface test: clock line stuck low
        Assert.Equal(0x01, kbc.Read(0));
        kbc.Write(4, 0xd4);                            // a byte for the (absent) mouse goes nowhere
        kbc.Write(0, 0xf4);
        Assert.Equal(0x00, kbc.Read(4) & 0x01);
    }

    [Fact]
    public void I8042KeyboardAnswersEachByteWithTheInterruptUp()
    {
        var irq = new LevelInterrupt();
        var kbc = new I8042(irq, () => { });
        kbc.Write(0, 0xff);                            // reset: ACK, then self test passed
        Assert.True(irq.Level);
        Assert.Equal(0xfa, kbc.Read(0));
        Assert.True(irq.Level);                        // the next byte is in the buffer at once
        Assert.Equal(0xaa, kbc.Read(0));
        Assert.False(irq.Level);
        Assert.Equal(2, irq.Count);                    // one rising edge per byte

        kbc.Write(0, 0xf2);                            // get ID, translated (the default command byte)
        Assert.Equal([0xfa, 0xab, 0x41], [kbc.Read(0), kbc.Read(0), kbc.Read(0)]);
        kbc.Write(4, 0x60);
        kbc.Write(0, 0x05);                            // translation off, interrupt on
        kbc.Write(0, 0xf2);
        Assert.Equal([0xfa, 0xab, 0x83], [kbc.Read(0), kbc.Read(0), kbc.Read(0)]);

        kbc.Write(0, 0xed);                            // set LEDs, then its parameter: ACK each, 0x05 is not a command
        kbc.Write(0, 0x05);
        Assert.Equal([0xfa, 0xfa], [kbc.Read(0), kbc.Read(0)]);
        kbc.Write(0, 0xf0);                            // scancode set: choose 3, then ask (untranslated: 3 itself)
        kbc.Write(0, 0x03);
        kbc.Write(0, 0xf0);
        kbc.Write(0, 0x00);
        Assert.Equal([0xfa, 0xfa, 0xfa, 0xfa, 0x03], [kbc.Read(0), kbc.Read(0), kbc.Read(0), kbc.Read(0), kbc.Read(0)]);
        kbc.Write(0, 0xee);                            // echo
        Assert.Equal(0xee, kbc.Read(0));
        kbc.Write(0, 0x12);                            // not a keyboard command: resend
        Assert.Equal(0xfe, kbc.Read(0));
    }

    [Fact]
    public void I8042InterruptFollowsTheCommandByte()
    {
        var irq = new LevelInterrupt();
        var kbc = new I8042(irq, () => { });
        kbc.Write(4, 0x60);
        kbc.Write(0, 0x44);                            // keyboard interrupt off
        kbc.Write(0, 0xf4);
        Assert.False(irq.Level);
        Assert.Equal(0x01, kbc.Read(4) & 0x01);        // the ACK is there to poll for
        Assert.Equal(0xfa, kbc.Read(0));
    }

    [Fact]
    public void I8042KeepsAtMostAShortQueueForAGuestThatNeverReads()
    {
        var kbc = new I8042(new LevelInterrupt(), () => { });
        for (int i = 0; i < 1000; i++) kbc.Write(0, 0xff);
        Assert.InRange(kbc.SaveState().Queue.Length, 1, 16);
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
