using Podvisor.Api;
using Podvisor.Vmm.Devices.Virtio.Balloon;
using Podvisor.Vmm.Devices.Virtio.Block;
using Podvisor.Vmm.Machine;

namespace Podvisor.Domain;

/// <summary>
/// What a VMI's domain means for the VMM, wherever the VM runs (a launcher pod, <c>podvisor run</c>): vCPUs,
/// memory, huge pages, rng, balloon, and the I/O mode of each disk. Where the files come from is the caller's.
/// </summary>
public static class DomainMachine
{
    public static MachineConfig Configure(DomainSpec domain, string kernelPath, string? initrdPath) => new()
    {
        KernelPath = kernelPath,
        InitrdPath = initrdPath,
        CommandLine = domain.Firmware?.KernelBoot?.KernelArgs ?? MachineConfig.DefaultCommandLine,
        Cpus = domain.Vcpus(),
        MemoryMiB = domain.GuestMemoryBytes() / Quantities.MiB,
        HugePageSizeMiB = domain.Memory?.Hugepages?.PageSize switch
        {
            "2Mi" => 2,
            "1Gi" => 1024,
            _ => null,
        },
        Rng = domain.Devices?.Rng is not null,
        // As in KubeVirt, every VM gets a balloon unless the manifest says autoattachMemBalloon: false.
        Balloon = domain.Devices?.AutoattachMemBalloon == false ? null : new BalloonOptions(),
    };

    /// <summary>Disk settings of the domain the VMM cannot honour yet, by field under <paramref name="at"/> (the spec's path).</summary>
    public static IEnumerable<FieldError> Unsupported(DomainSpec domain, string at)
    {
        var disks = domain.Devices?.Disks ?? [];
        for (int i = 0; i < disks.Count; i++)
            if (disks[i].Cache is { } cache && cache != "writeback")
                yield return new($"{at}.devices.disks[{i}].cache", $"cache mode {cache} is not supported yet; Podvisor uses the host's page cache (writeback)");
    }

    /// <summary>KubeVirt's io names: native is io_uring here (the successor of QEMU's native Linux AIO).</summary>
    public static BlockIoMode? IoModeOf(Disk disk) => disk.Io switch
    {
        "native" => BlockIoMode.IoUring,
        "threads" => BlockIoMode.Threads,
        _ => null,
    };

    public static DiskConfig DiskOf(Disk disk, string image) => new(image, disk.DiskTarget?.ReadOnly == true, disk.Serial, IoModeOf(disk));

    /// <summary>
    /// Creates a sparse file of <paramref name="capacity"/> (a Kubernetes quantity, which validation has checked);
    /// fails if it exists.
    /// </summary>
    public static void CreateSparse(string path, string capacity)
    {
        if (!Quantities.TryParseBytes(capacity, out ulong bytes))
            throw new ArgumentException($"{path}: capacity {capacity} is not a quantity of bytes", nameof(capacity));
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        file.SetLength((long)bytes);
    }
}
