using Podvisor.Vmm.Devices.Acpi;
using Podvisor.Vmm.Devices.Legacy;
using Podvisor.Vmm.Devices.Serial;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Migration;

/// <summary>
/// A paused VM's state apart from guest RAM: every vCPU, the in-kernel PICs, IOAPIC and PIT, the legacy
/// devices and every virtio device. KVM structs travel as the kernel's bytes. The guest's two clocks —
/// kvmclock (<paramref name="Clock"/>) and each vCPU's TSC (<paramref name="Tsc"/>) — are read back to back,
/// so the target can set them back to back: the guest compares them, and a skew between them (the time
/// between reading one and the other) makes Linux declare its TSC unstable.
/// </summary>
public sealed record MachineState(
    int Cpus, ulong MemoryBytes, IReadOnlyList<VcpuState> Vcpus,
    byte[] PicMaster, byte[] PicSlave, byte[] Ioapic, byte[] Pit, byte[] Clock, IReadOnlyList<ulong> Tsc,
    UartState Serial, CmosState Cmos, I8042State I8042, AcpiPmState AcpiPm,
    IReadOnlyList<VirtioMmioState> Virtio);
