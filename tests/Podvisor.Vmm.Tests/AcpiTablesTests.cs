using System.Buffers.Binary;
using System.Text;
using Podvisor.Vmm.Acpi;
using Podvisor.Vmm.Boot;
using Podvisor.Vmm.Devices.Acpi;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Tests;

public sealed class AcpiTablesTests : IDisposable
{
    private static readonly AcpiPorts Ports = AcpiPorts.From(0x600);
    private readonly GuestRam _ram = new(64 << 20);

    public void Dispose() => _ram.Dispose();

    private byte[] Read(ulong address, int length) => _ram.GetReadOnlySpan(new GuestAddress(address), length).ToArray();

    private byte[] Table(ulong address) =>
        Read(address, (int)BinaryPrimitives.ReadUInt32LittleEndian(Read(address + 4, 4)));

    /// <summary>Follows RSDP → XSDT → tables the way a guest does; returns each table by signature.</summary>
    private Dictionary<string, byte[]> Walk(int cpus)
    {
        ulong rsdpAddress = AcpiTables.Write(_ram, cpus, Ports);
        byte[] rsdp = Read(rsdpAddress, Rsdp.Length);
        Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(rsdp, 0, 8));
        Assert.True(Checksum.IsValid(rsdp.AsSpan(0, 20)), "RSDP v1 checksum");
        Assert.True(Checksum.IsValid(rsdp), "RSDP extended checksum");
        Assert.Equal(2, rsdp[15]);

        byte[] xsdt = Table(BinaryPrimitives.ReadUInt64LittleEndian(rsdp.AsSpan(24)));
        var tables = new Dictionary<string, byte[]> { ["XSDT"] = xsdt };
        for (int at = SystemDescriptionTable.HeaderSize; at < xsdt.Length; at += 8)
        {
            byte[] table = Table(BinaryPrimitives.ReadUInt64LittleEndian(xsdt.AsSpan(at)));
            tables[Encoding.ASCII.GetString(table, 0, 4)] = table;
        }
        byte[] fadt = tables["FACP"];
        tables["DSDT"] = Table(BinaryPrimitives.ReadUInt64LittleEndian(fadt.AsSpan(140)));
        foreach (var (signature, table) in tables) Assert.True(Checksum.IsValid(table), $"{signature} checksum");
        return tables;
    }

    [Fact]
    public void GuestFindsEveryTableFromTheRsdpWithValidChecksums()
    {
        var tables = Walk(cpus: 2);
        Assert.Equal(["APIC", "DSDT", "FACP", "XSDT"], tables.Keys.Order());
        Assert.InRange(AcpiTables.RsdpAddress, 0xe0000UL, 0xfffffUL);    // where Linux scans for it
        Assert.True(tables.Values.All(t => t.Length >= SystemDescriptionTable.HeaderSize));
    }

    [Fact]
    public void FadtPointsAtOurFixedRegistersAndAFacs()
    {
        var tables = Walk(cpus: 1);
        byte[] fadt = tables["FACP"];
        Assert.Equal(276, fadt.Length);
        Assert.Equal(6, fadt[8]);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(fadt.AsSpan(112));
        Assert.Equal(0u, flags & (1u << 20));                          // not hardware-reduced: the ISA IRQs stay
        Assert.NotEqual(0u, flags & (1u << 10));                       // RESET_REG_SUP
        Assert.Equal(0u, flags & (1u << 4));                           // PWR_BUTTON clear: a fixed-feature power button
        Assert.Equal(Fadt.SciIrq, BinaryPrimitives.ReadUInt16LittleEndian(fadt.AsSpan(46)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(fadt.AsSpan(48)));   // no SMI command: always ACPI mode
        Assert.Equal(Ports.EventBlock, BinaryPrimitives.ReadUInt32LittleEndian(fadt.AsSpan(56)));
        Assert.Equal(Ports.ControlBlock, BinaryPrimitives.ReadUInt32LittleEndian(fadt.AsSpan(64)));
        Assert.Equal([4, 2], fadt[88..90]);
        Assert.Equal(Ports.EventBlock, BinaryPrimitives.ReadUInt64LittleEndian(fadt.AsSpan(148 + 4)));   // X_PM1a_EVT_BLK
        Assert.Equal(Ports.ControlBlock, BinaryPrimitives.ReadUInt64LittleEndian(fadt.AsSpan(172 + 4))); // X_PM1a_CNT_BLK
        Assert.Equal(GenericAddress.IoPort8(Ports.Reset).ToBytes(), fadt[116..128]);
        Assert.Equal(AcpiPorts.ResetValue, fadt[128]);
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(fadt.AsSpan(40)),
            (uint)BinaryPrimitives.ReadUInt64LittleEndian(fadt.AsSpan(140)));       // DSDT and X_DSDT agree

        uint facs = BinaryPrimitives.ReadUInt32LittleEndian(fadt.AsSpan(36));
        Assert.Equal(0u, facs % 64);
        Assert.Equal("FACS"u8.ToArray(), Read(facs, 4));
        Assert.Equal((uint)Facs.Length, BinaryPrimitives.ReadUInt32LittleEndian(Read(facs + 4, 4)));
    }

    [Fact]
    public void DsdtDeclaresTheS5SleepState()
    {
        byte[] dsdt = Walk(cpus: 1)["DSDT"];
        byte[] aml = dsdt[SystemDescriptionTable.HeaderSize..];
        // NameOp "_S5_" PackageOp PkgLength NumElements BytePrefix 5 ...
        Assert.Equal(new byte[] { 0x08, (byte)'_', (byte)'S', (byte)'5', (byte)'_', 0x12, 0x07, 0x04, 0x0a, Dsdt.S5SleepType, 0, 0, 0 }, aml);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(254)]
    public void MadtListsOneEnabledLocalApicPerVcpuAndTheIoApic(int cpus)
    {
        byte[] madt = Walk(cpus)["APIC"];
        Assert.Equal(MpTable.LocalApicAddress, BinaryPrimitives.ReadUInt32LittleEndian(madt.AsSpan(36)));
        var apicIds = new List<int>();
        int ioApics = 0, nmis = 0, overrides = 0;
        for (int at = 44; at < madt.Length; at += madt[at + 1])
        {
            Assert.True(madt[at + 1] > 0, "an entry with length 0 would loop a guest forever");
            switch (madt[at])
            {
                case 0:
                    Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(madt.AsSpan(at + 4)));
                    apicIds.Add(madt[at + 3]);
                    break;
                case 1:
                    ioApics++;
                    Assert.Equal(MpTable.IoApicId(cpus), madt[at + 2]);
                    Assert.Equal(MpTable.IoApicAddress, BinaryPrimitives.ReadUInt32LittleEndian(madt.AsSpan(at + 4)));
                    Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(madt.AsSpan(at + 8)));
                    break;
                case 2:
                    overrides++;
                    Assert.Equal(Fadt.SciIrq, madt[at + 3]);
                    Assert.Equal(0x000d, BinaryPrimitives.ReadUInt16LittleEndian(madt.AsSpan(at + 8)));  // level, active high
                    break;
                case 4:
                    nmis++;
                    Assert.Equal(1, madt[at + 5]);                        // LINT1
                    break;
            }
        }
        Assert.Equal(Enumerable.Range(0, cpus), apicIds);
        Assert.Equal(1, ioApics);
        Assert.Equal(1, nmis);
        Assert.Equal(1, overrides);
    }

    [Fact]
    public void TablesStayInTheReservedBiosAreaAndAreTrackedAsVmmWrites()
    {
        _ram.TakeVmmDirty();
        AcpiTables.Write(_ram, 254, Ports);
        var dirty = _ram.TakeVmmDirty().DirtyPages().ToList();
        var reserved = LinuxLoader.MemoryMap(_ram.Regions).Single(e => e.Type == E820Type.Reserved);
        Assert.Contains(AcpiTables.RsdpAddress / GuestRam.PageSize, dirty);
        Assert.All(dirty, page =>
            Assert.InRange(page * GuestRam.PageSize, reserved.Address, reserved.Address + reserved.Size - 1));
    }

    private static void Write16(AcpiPowerManagement pm, ushort offset, ushort value) =>
        pm.Write(offset, [(byte)value, (byte)(value >> 8)]);

    private static ushort Read16(AcpiPowerManagement pm, ushort offset)
    {
        Span<byte> b = stackalloc byte[2];
        pm.Read(offset, b);
        return BinaryPrimitives.ReadUInt16LittleEndian(b);
    }

    [Fact]
    public void Pm1ControlPowersOffOnlyForS5WithSleepEnable()
    {
        int powerOffs = 0, resets = 0;
        var pm = new AcpiPowerManagement(() => powerOffs++, () => resets++);
        Assert.Equal(AcpiPowerManagement.SciEnable, Read16(pm, AcpiPowerManagement.ControlOffset));   // in ACPI mode
        Write16(pm, AcpiPowerManagement.ControlOffset, Dsdt.S5SleepType << 10);                      // SLP_TYP alone: Linux writes it first
        Write16(pm, AcpiPowerManagement.ControlOffset, AcpiPowerManagement.SleepRequest(3));          // S3: not offered
        Assert.Equal(0, powerOffs);
        Write16(pm, AcpiPowerManagement.ControlOffset, AcpiPowerManagement.SleepRequest(Dsdt.S5SleepType));
        Assert.Equal(1, powerOffs);
        Assert.Equal(0, resets);
        Assert.Equal(0, Read16(pm, AcpiPowerManagement.ControlOffset) & AcpiPowerManagement.SleepEnable); // SLP_EN reads 0
    }

    [Fact]
    public void Pm1ControlHighByteWriteAloneAlsoPowersOff()
    {
        int powerOffs = 0;
        var pm = new AcpiPowerManagement(() => powerOffs++, () => { });
        pm.Write(AcpiPowerManagement.ControlOffset + 1, [(byte)(AcpiPowerManagement.SleepRequest(Dsdt.S5SleepType) >> 8)]);
        Assert.Equal(1, powerOffs);
    }

    [Fact]
    public void Pm1EnableKeepsWritesAndStatusIsWriteOneToClear()
    {
        var pm = new AcpiPowerManagement(() => { }, () => { });
        Write16(pm, AcpiPowerManagement.EnableOffset, 0x0120);
        Assert.Equal(0x0120, Read16(pm, AcpiPowerManagement.EnableOffset));
        Write16(pm, AcpiPowerManagement.StatusOffset, 0xffff);
        Assert.Equal(0, Read16(pm, AcpiPowerManagement.StatusOffset));
        Span<byte> both = stackalloc byte[4];                            // one 32-bit access spanning status and enable
        pm.Read(AcpiPowerManagement.StatusOffset, both);
        Assert.Equal(0x0120_0000u, BinaryPrimitives.ReadUInt32LittleEndian(both));
    }

    [Fact]
    public void PowerButtonRaisesTheSciWhileItsEnabledStatusIsSet()
    {
        var sci = new List<bool>();
        var pm = new AcpiPowerManagement(() => { }, () => { }, sci.Add);
        pm.PressPowerButton();                                           // before the guest enabled it: latched, no SCI
        Assert.Empty(sci);
        Assert.False(pm.PowerButtonEnabled);
        Assert.Equal(AcpiPowerManagement.PowerButton, Read16(pm, AcpiPowerManagement.StatusOffset));
        Write16(pm, AcpiPowerManagement.EnableOffset, AcpiPowerManagement.PowerButton);
        Assert.True(pm.PowerButtonEnabled);
        Assert.Equal([true], sci);                                       // enabling with the status set raises it
        Write16(pm, AcpiPowerManagement.StatusOffset, AcpiPowerManagement.PowerButton);   // the guest's handler clears it
        Assert.Equal([true, false], sci);
        pm.PressPowerButton();
        pm.PressPowerButton();                                           // a level: a second press while high changes nothing
        Assert.Equal([true, false, true], sci);
        Write16(pm, AcpiPowerManagement.EnableOffset, 0);                // disabling lowers it, the status stays
        Assert.Equal([true, false, true, false], sci);
        Assert.Equal(AcpiPowerManagement.PowerButton, Read16(pm, AcpiPowerManagement.StatusOffset));
    }

    [Fact]
    public void ResetRegisterResetsOnlyOnTheResetValue()
    {
        int powerOffs = 0, resets = 0;
        var pm = new AcpiPowerManagement(() => powerOffs++, () => resets++);
        pm.Write(AcpiPowerManagement.ResetOffset, [0x06]);
        Assert.Equal(0, resets);
        pm.Write(AcpiPowerManagement.ResetOffset, [AcpiPorts.ResetValue]);
        Assert.Equal(1, resets);
        Assert.Equal(0, powerOffs);
    }
}
