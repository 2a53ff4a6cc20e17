using Podvisor.Vmm.Devices.Acpi;
using Podvisor.Vmm.Devices.Legacy;
using Podvisor.Vmm.Devices.Serial;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Migration;

/// <summary>
/// A paused VM's state apart from guest RAM: every vCPU, the in-kernel PICs, IOAPIC and PIT, kvmclock, the
/// legacy devices and every virtio device. KVM structs travel as the kernel's bytes.
/// </summary>
public sealed record MachineState(
    int Cpus, ulong MemoryBytes, IReadOnlyList<VcpuState> Vcpus,
    byte[] PicMaster, byte[] PicSlave, byte[] Ioapic, byte[] Pit, byte[] Clock,
    UartState Serial, CmosState Cmos, I8042State I8042, AcpiPmState AcpiPm,
    IReadOnlyList<VirtioMmioState> Virtio);
