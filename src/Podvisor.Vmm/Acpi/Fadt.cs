namespace Podvisor.Vmm.Acpi;

/// <summary>
/// The Fixed ACPI Description Table (revision 6, 276 bytes). Not hardware-reduced: on x86 Linux drops the
/// legacy PIC, PIT and ISA IRQs on a hardware-reduced platform, and the microVM's UART, i8042 and CMOS
/// clock are ISA devices. So it has the minimum fixed hardware instead: a PM1a event block, a PM1a control
/// block (poweroff: SLP_TYP=S5 + SLP_EN) and a reset register, all on I/O ports served by
/// <see cref="Devices.Acpi.AcpiPowerManagement"/>; no SMI command port (always in ACPI mode), no PM timer,
/// no GPE blocks, SCI on IRQ 9, raised by the one fixed-hardware event: the power button (the host's way to
/// ask the guest to shut down).
/// </summary>
public static class Fadt
{
    public const int Length = 276;
    public const byte SciIrq = 9;
    private const uint FlagWbinvd = 1 << 0, FlagProcC1 = 1 << 2, FlagNoSleepButton = 1 << 5,
        FlagResetRegisterSupported = 1 << 10;
    private const ushort BootArchLegacyDevices = 1 << 0, BootArch8042 = 1 << 1, BootArchNoVga = 1 << 2, BootArchNoMsi = 1 << 3;
    private const ushort C2NotSupported = 101, C3NotSupported = 1001;

    public static byte[] Build(ulong facsAddress, ulong dsdtAddress, AcpiPorts ports)
    {
        var eventBlock = new GenericAddress(GenericAddress.SystemIo, AcpiPorts.EventBlockLength * 8, 0, GenericAddress.WordAccess, ports.EventBlock);
        var controlBlock = new GenericAddress(GenericAddress.SystemIo, AcpiPorts.ControlBlockLength * 8, 0, GenericAddress.WordAccess, ports.ControlBlock);
        var t = new SystemDescriptionTable("FACP", revision: 6);
        t.AppendUInt32(checked((uint)facsAddress));          // 36 FIRMWARE_CTRL
        t.AppendUInt32(checked((uint)dsdtAddress));          // 40 DSDT
        t.AppendByte(0);                                     // 44 reserved
        t.AppendByte(0);                                     // 45 preferred PM profile: unspecified
        t.AppendUInt16(SciIrq);                              // 46 SCI_INT
        t.AppendUInt32(0);                                   // 48 SMI_CMD: none, the platform is always in ACPI mode
        t.Append([0, 0, 0, 0]);                              // 52 ACPI_ENABLE, ACPI_DISABLE, S4BIOS_REQ, PSTATE_CNT
        t.AppendUInt32(ports.EventBlock);                    // 56 PM1a_EVT_BLK
        t.AppendUInt32(0);                                   // 60 PM1b_EVT_BLK
        t.AppendUInt32(ports.ControlBlock);                  // 64 PM1a_CNT_BLK
        t.Append(new byte[88 - 68]);                         // 68..87 PM1b_CNT, PM2_CNT, PM_TMR, GPE0, GPE1: none
        t.Append([AcpiPorts.EventBlockLength, AcpiPorts.ControlBlockLength, 0, 0, 0, 0, 0, 0]); // 88 lengths, GPE1_BASE, CST_CNT
        t.AppendUInt16(C2NotSupported).AppendUInt16(C3NotSupported);                         // 96 P_LVL2_LAT, P_LVL3_LAT
        t.Append(new byte[109 - 100]);                       // 100..108 flush size/stride, duty cycle, alarms, century
        t.AppendUInt16(BootArchLegacyDevices | BootArch8042 | BootArchNoVga | BootArchNoMsi);   // 109 IAPC_BOOT_ARCH
        t.AppendByte(0);                                     // 111 reserved
        t.AppendUInt32(FlagWbinvd | FlagProcC1 | FlagNoSleepButton | FlagResetRegisterSupported); // 112: fixed power button
        t.Append(GenericAddress.IoPort8(ports.Reset).ToBytes()); // 116 RESET_REG
        t.AppendByte(AcpiPorts.ResetValue);                  // 128 RESET_VALUE
        t.AppendUInt16(0);                                   // 129 ARM_BOOT_ARCH
        t.AppendByte(5);                                     // 131 FADT minor version (ACPI 6.5)
        t.AppendUInt64(0);                                   // 132 X_FIRMWARE_CTRL: the 32-bit pointer is used
        t.AppendUInt64(dsdtAddress);                         // 140 X_DSDT
        t.Append(eventBlock.ToBytes());                      // 148 X_PM1a_EVT_BLK
        t.Append(GenericAddress.Empty.ToBytes());            // 160 X_PM1b_EVT_BLK
        t.Append(controlBlock.ToBytes());                    // 172 X_PM1a_CNT_BLK
        for (int i = 0; i < 7; i++) t.Append(GenericAddress.Empty.ToBytes()); // 184..267 PM1b_CNT .. GPE1, sleep control/status
        t.Append("PODVISOR"u8);                              // 268 hypervisor vendor identity
        return t.Build();
    }
}
