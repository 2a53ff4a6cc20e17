using Podvisor.Api;

namespace Podvisor.Operator.Launcher;

/// <summary>
/// Memory the launcher needs besides guest RAM, added to the pod's memory request so the scheduler counts
/// it and the memory cgroup does not kill the VM at the edge (KubeVirt does the same, with a larger base
/// for libvirt and QEMU). Measured for the VMM alone: 11.6–14.7 MiB with a 256 MiB guest (benchmarks/BootTime). The
/// native launcher, with its control API (Kestrel, TLS), metrics endpoint, DHCP server and I/O buffers, reports
/// 48.9 MiB (<c>podvisor_vmi_vmm_memory_overhead_bytes</c>: RSS, its binary's pages included, minus guest RAM; 2 vCPUs,
/// one disk, emulated KVM host) to 57 MiB: the base covers that with room to spare, and the end-to-end test holds a
/// running launcher to it.
/// </summary>
public static class LauncherOverhead
{
    public const ulong BaseBytes = 64 * Quantities.MiB;

    /// <summary>Per vCPU: its thread's stack, the kvm_run page and in-kernel vCPU state.</summary>
    public const ulong PerVcpuBytes = 2 * Quantities.MiB;

    /// <summary>Per disk or NIC: queue buffers and the I/O thread's stack.</summary>
    public const ulong PerDeviceBytes = 2 * Quantities.MiB;

    public static ulong Bytes(DomainSpec domain)
    {
        ulong guest = domain.GuestMemoryBytes();
        int devices = (domain.Devices?.Disks?.Count ?? 0) + (domain.Devices?.Interfaces?.Count ?? 0);
        // KVM's shadow of the guest's memory map: about 8 bytes per 4 KiB page.
        ulong pageTables = guest / 512;
        return BaseBytes + pageTables + (ulong)domain.Vcpus() * PerVcpuBytes + (ulong)devices * PerDeviceBytes;
    }
}
