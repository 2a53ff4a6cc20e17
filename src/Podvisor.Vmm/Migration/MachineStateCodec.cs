using Podvisor.Vmm.Devices.Acpi;
using Podvisor.Vmm.Devices.Legacy;
using Podvisor.Vmm.Devices.Serial;
using Podvisor.Vmm.Machine;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Migration;

/// <summary>
/// The <see cref="MachineState"/> a migration's State frame carries, in a fixed binary layout (protocol version 2 on):
/// it is written and read inside the downtime, where JSON's text and base64 cost tens of milliseconds under emulation.
/// Fields go in declaration order; a change of layout is a new protocol version.
/// </summary>
public static class MachineStateCodec
{
    private const string What = "machine state";

    public static ReadOnlyMemory<byte> Encode(MachineState state)
    {
        var w = new StateWriter();
        w.I32(state.Cpus);
        w.U64(state.MemoryBytes);
        w.List(state.Vcpus, WriteVcpu);
        w.Bytes(state.PicMaster);
        w.Bytes(state.PicSlave);
        w.Bytes(state.Ioapic);
        w.Bytes(state.Pit);
        w.Bytes(state.Clocks.Clock);
        w.List(state.Clocks.Tsc, (w, tsc) => w.U64(tsc));
        w.List(state.Clocks.TscDeadline, (w, deadline) => w.OptionalU64(deadline));
        w.I32(state.Clocks.TscKhz);
        var uart = state.Serial;
        foreach (byte register in (ReadOnlySpan<byte>)[uart.Ier, uart.Lcr, uart.Mcr, uart.Scr, uart.Dll, uart.Dlm, uart.Fcr]) w.Byte(register);
        w.Bool(uart.ThrEmptyPending);
        w.Bytes(uart.Input);
        w.Byte(state.Cmos.Index);
        w.Bytes(state.Cmos.Ram);
        var i8042 = state.I8042;
        foreach (byte register in (ReadOnlySpan<byte>)[i8042.Status, i8042.Ctr, i8042.OutputPort, i8042.PendingCommand]) w.Byte(register);
        w.OptionalByte(i8042.Output);
        w.Bytes(i8042.Queue);
        w.Byte(i8042.KeyboardCommand);
        w.Byte(i8042.ScancodeSet);
        w.U16(state.AcpiPm.Status);
        w.U16(state.AcpiPm.Enable);
        w.U16(state.AcpiPm.Control);
        w.List(state.Virtio, WriteVirtio);
        return w.Written;
    }

    public static MachineState Decode(ReadOnlyMemory<byte> payload)
    {
        var r = new StateReader(payload, What);
        int cpus = r.I32("cpus");
        ulong memory = r.U64("memory size");
        var vcpus = r.List("vCPUs", ReadVcpu);
        byte[] picMaster = r.Bytes("master PIC"), picSlave = r.Bytes("slave PIC"), ioapic = r.Bytes("IOAPIC"), pit = r.Bytes("PIT");
        var clocks = new GuestClocks(r.Bytes("kvmclock"), r.List("TSCs", r => r.U64("TSC")), r.List("TSC deadlines", r => r.OptionalU64("TSC deadline")),
            r.I32("TSC rate"));
        var serial = new UartState(r.Byte("UART IER"), r.Byte("UART LCR"), r.Byte("UART MCR"), r.Byte("UART SCR"), r.Byte("UART DLL"), r.Byte("UART DLM"),
            r.Byte("UART FCR"), r.Bool("UART THR empty"), r.Bytes("UART input"));
        var cmos = new CmosState(r.Byte("CMOS index"), r.Bytes("CMOS RAM"));
        var i8042 = new I8042State(r.Byte("i8042 status"), r.Byte("i8042 CTR"), r.Byte("i8042 output port"), r.Byte("i8042 pending command"),
            r.OptionalByte("i8042 output"), r.Bytes("i8042 keyboard queue"), r.Byte("i8042 keyboard command"), r.Byte("i8042 scancode set"));
        var acpi = new AcpiPmState(r.U16("PM1 status"), r.U16("PM1 enable"), r.U16("PM1 control"));
        var virtio = r.List("virtio devices", ReadVirtio);
        r.End();
        return new MachineState(cpus, memory, vcpus, picMaster, picSlave, ioapic, pit, clocks, serial, cmos, i8042, acpi, virtio);
    }

    /// <summary>One virtio device's state alone, in the layout the machine state carries it.</summary>
    public static ReadOnlyMemory<byte> EncodeVirtio(VirtioMmioState device)
    {
        var w = new StateWriter(1024);
        WriteVirtio(w, device);
        return w.Written;
    }

    public static VirtioMmioState DecodeVirtio(ReadOnlyMemory<byte> payload)
    {
        var r = new StateReader(payload, "virtio device state");
        var device = ReadVirtio(r);
        r.End();
        return device;
    }

    private static void WriteVcpu(StateWriter w, VcpuState v)
    {
        w.U32(v.Id);
        w.Bytes(v.Regs);
        w.Bytes(v.Sregs);
        w.Bytes(v.Xsave);
        w.Bytes(v.Fpu);
        w.Bytes(v.Xcrs);
        w.Bytes(v.DebugRegs);
        w.Bytes(v.Lapic);
        w.Bytes(v.Events);
        w.U32(v.MpState);
        w.List(v.Msrs, (w, msr) =>
        {
            w.U32(msr.Index);
            w.U64(msr.Value);
        });
        w.I32(v.TscKhz);
    }

    private static VcpuState ReadVcpu(StateReader r) => new(
        r.U32("vCPU id"), r.Bytes("registers"), r.Bytes("special registers"), r.OptionalBytes("XSAVE"), r.OptionalBytes("FPU"), r.OptionalBytes("XCRs"),
        r.Bytes("debug registers"), r.Bytes("local APIC"), r.Bytes("vCPU events"), r.U32("MP state"),
        r.List("MSRs", r => new SavedMsr(r.U32("MSR index"), r.U64("MSR value"))), r.I32("TSC rate"));

    private static void WriteVirtio(StateWriter w, VirtioMmioState d)
    {
        w.U32((uint)d.DeviceType);
        w.U32(d.Status);
        w.U64(d.DriverFeatures);
        w.U32(d.DeviceFeaturesSelect);
        w.U32(d.DriverFeaturesSelect);
        w.U32(d.QueueSelect);
        w.U32(d.InterruptStatus);
        w.U32(d.ConfigGeneration);
        w.List(d.Queues, (w, q) =>
        {
            w.U16(q.Size);
            w.Bool(q.Ready);
            w.U64(q.DescriptorTable);
            w.U64(q.AvailRing);
            w.U64(q.UsedRing);
            w.U16(q.NextAvail);
            w.U16(q.NextUsed);
            w.U16(q.SignalledUsed);
            w.Bool(q.SignalledUsedValid);
            w.Bool(q.EventIndex);
            w.Bool(q.IndirectDescriptors);
        });
        w.Bytes(d.Device);
    }

    private static VirtioMmioState ReadVirtio(StateReader r)
    {
        uint type = r.U32("virtio device type");
        if (!Enum.IsDefined((VirtioDeviceType)type)) throw new MigrationException($"the peer's {What} has a virtio device of unknown type {type}");
        return new VirtioMmioState((VirtioDeviceType)type, r.U32("virtio status"), r.U64("virtio driver features"), r.U32("virtio device features select"),
            r.U32("virtio driver features select"), r.U32("virtio queue select"), r.U32("virtio interrupt status"), r.U32("virtio config generation"),
            r.List("virtqueues", r => new VirtqueueState(r.U16("queue size"), r.Bool("queue ready"), r.U64("descriptor table"), r.U64("available ring"),
                r.U64("used ring"), r.U16("next available"), r.U16("next used"), r.U16("signalled used"), r.Bool("signalled used valid"),
                r.Bool("event index"), r.Bool("indirect descriptors"))),
            r.Bytes("virtio device state"));
    }
}
