using Podvisor.Vmm.Devices.Acpi;
using Podvisor.Vmm.Devices.Legacy;
using Podvisor.Vmm.Devices.Serial;

namespace Podvisor.Vmm.Tests.Migration;

/// <summary>Each legacy device's state moves into a fresh device, which then behaves as the old one would.</summary>
public sealed class LegacyDeviceStateTests
{
    [Fact]
    public void TheUartCarriesItsRegistersAndUnreadInputAndRaisesAPendingInterruptAgain()
    {
        var source = new Uart8250(_ => { }, new LevelInterrupt());
        source.Write(3, 0x80);            // DLAB
        source.Write(0, 0x01);            // divisor 1: 115200 baud
        source.Write(3, 0x03);
        source.Write(1, 0x01);            // receive interrupts on
        source.Write(7, 0x5a);
        source.QueueInput("hi"u8);

        var line = new LevelInterrupt();
        var target = new Uart8250(_ => { }, line);
        target.RestoreState(source.SaveState());

        Assert.Equal(1, line.Count);                       // unread input with RDA enabled: the guest is told again
        Assert.Equal(0x5a, target.Read(7));
        Assert.Equal(0x01, target.Read(5) & 0x01);         // data ready
        Assert.Equal((byte)'h', target.Read(0));
        Assert.Equal((byte)'i', target.Read(0));
        target.Write(3, 0x83);
        Assert.Equal(0x01, target.Read(0));                // the divisor came too
    }

    [Fact]
    public void CmosRamI8042AndAcpiRegistersCarryOver()
    {
        var cmos = new CmosRtc();
        cmos.Write(0, 0x40);
        cmos.Write(1, 0x99);
        var cmosTarget = new CmosRtc();
        cmosTarget.RestoreState(cmos.SaveState());
        Assert.Equal(0x99, cmosTarget.Read(1));            // the selected index and the byte behind it

        var i8042 = new I8042(new LevelInterrupt(), () => { });
        i8042.Write(4, 0x60);                              // write the configuration byte...
        var i8042Target = new I8042(new LevelInterrupt(), () => { });
        i8042Target.RestoreState(i8042.SaveState());
        i8042Target.Write(0, 0x47);                        // ...its data byte arrives after the migration
        i8042Target.Write(4, 0x20);
        Assert.Equal(0x47, i8042Target.Read(0));

        // The keyboard's answer half read, and a command waiting for its parameter, carry over too.
        var keyboard = new I8042(new LevelInterrupt(), () => { });
        keyboard.Write(0, 0xf2);                           // get ID: ACK, 0xAB, 0x41
        Assert.Equal(0xfa, keyboard.Read(0));
        keyboard.Write(0, 0xed);                           // set LEDs: its parameter comes after the migration
        var keyboardIrq = new LevelInterrupt();
        var keyboardTarget = new I8042(keyboardIrq, () => { });
        keyboardTarget.RestoreState(keyboard.SaveState());
        Assert.True(keyboardIrq.Level);                    // a byte is waiting: the line is up on the target
        Assert.Equal([0xab, 0x41, 0xfa], [keyboardTarget.Read(0), keyboardTarget.Read(0), keyboardTarget.Read(0)]);
        keyboardTarget.Write(0, 0x07);                     // the LED parameter, not a command
        Assert.Equal(0xfa, keyboardTarget.Read(0));
        Assert.Equal(0x00, keyboardTarget.Read(4) & 0x01);

        var sci = new List<bool>();
        var acpi = new AcpiPowerManagement(() => { }, () => { });
        acpi.Write(AcpiPowerManagement.EnableOffset, BitConverter.GetBytes(AcpiPowerManagement.PowerButton));
        acpi.PressPowerButton();
        var acpiTarget = new AcpiPowerManagement(() => { }, () => { }, sci.Add);
        acpiTarget.RestoreState(acpi.SaveState());
        Assert.True(acpiTarget.PowerButtonEnabled);
        Assert.Equal([true], sci);                         // the press not yet handled raises the SCI on the target
    }
}
