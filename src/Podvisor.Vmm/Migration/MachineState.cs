using Podvisor.Vmm.Devices.Acpi;
using Podvisor.Vmm.Devices.Legacy;
using Podvisor.Vmm.Devices.Serial;
using Podvisor.Vmm.Machine;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Migration;

/// <summary>
/// A paused VM's state apart from guest RAM: every vCPU, the in-kernel PICs, IOAPIC and PIT, the legacy
/// devices and every virtio device. KVM structs travel as the kernel's bytes; the guest's clocks as they
/// were when the source paused (<see cref="GuestClocks"/>): the guest sees no time pass during the downtime.
/// </summary>
public sealed record MachineState(
    int Cpus, ulong MemoryBytes, IReadOnlyList<VcpuState> Vcpus,
    byte[] PicMaster, byte[] PicSlave, byte[] Ioapic, byte[] Pit, GuestClocks Clocks,
    UartState Serial, CmosState Cmos, I8042State I8042, AcpiPmState AcpiPm,
    IReadOnlyList<VirtioMmioState> Virtio);
