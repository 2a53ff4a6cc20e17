namespace Podvisor.Vmm.Machine;

/// <summary>What to boot: kernel, initrd, command line, vCPUs and memory.</summary>
public sealed record MachineConfig
{
    public const string DefaultCommandLine = "console=ttyS0 reboot=k panic=-1 pci=off i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd";
    public const int MaxCpus = 254;
    /// <summary>1 TiB: well inside what 4-level paging and every KVM host's physical address width cover.</summary>
    public const ulong MaxMemoryMiB = 1UL << 20;

    public required string KernelPath { get; init; }
    public string? InitrdPath { get; init; }
    public string CommandLine { get; init; } = DefaultCommandLine;
    public int Cpus { get; init; } = 1;
    public ulong MemoryMiB { get; init; } = 256;

    /// <summary>virtio-blk disks, in order: the guest sees them as /dev/vda, /dev/vdb, …</summary>
    public IReadOnlyList<DiskConfig> Disks { get; init; } = [];

    /// <summary>virtio-net interfaces on TAP devices, in order: eth0, eth1, … in the guest.</summary>
    public IReadOnlyList<NetConfig> Networks { get; init; } = [];

    /// <summary>A virtio-balloon device (null: none): how the host takes memory back from the guest.</summary>
    public Devices.Virtio.Balloon.BalloonOptions? Balloon { get; init; }

    /// <summary>A virtio-vsock device (null: none): host↔guest sockets, for a guest agent.</summary>
    public VsockConfig? Vsock { get; init; }

    /// <summary>A virtio-rng device fed from the host's getrandom(2).</summary>
    public bool Rng { get; init; }

    /// <summary>virtio-mmio devices this configuration asks for.</summary>
    public int VirtioDeviceCount => Disks.Count + Networks.Count + (Balloon is null ? 0 : 1) + (Vsock is null ? 0 : 1) + (Rng ? 1 : 0);

    /// <summary>Back guest RAM with the host's huge pages of this size (2 or 1024 MiB); null: transparent huge pages.</summary>
    public ulong? HugePageSizeMiB { get; init; }

    /// <summary>Checks what can be checked before touching KVM; throws <see cref="ArgumentException"/> naming the field.</summary>
    /// <param name="hostMemoryMiB">This host's memory (default: read from /proc/meminfo).</param>
    public void Validate(ulong? hostMemoryMiB = null)
    {
        if (Cpus < 1 || Cpus > MaxCpus) throw new ArgumentException($"cpus must be between 1 and {MaxCpus}, got {Cpus}");
        if (MemoryMiB < 16) throw new ArgumentException($"memory must be at least 16 MiB, got {MemoryMiB} MiB");
        if (HugePageSizeMiB is { } page && page is not (2 or 1024))
            throw new ArgumentException($"huge pages are 2 MiB or 1024 MiB (1 GiB), not {page} MiB");
        if (HugePageSizeMiB is { } hugePage && MemoryMiB % hugePage != 0)
            throw new ArgumentException($"memory must be a multiple of the {hugePage} MiB huge page size, got {MemoryMiB} MiB");
        if (MemoryMiB > MaxMemoryMiB) throw new ArgumentException($"memory must be at most {MaxMemoryMiB} MiB (1 TiB), got {MemoryMiB} MiB");
        ulong host = hostMemoryMiB ?? HostMemoryMiB();
        if (host > 0 && MemoryMiB > host) throw new ArgumentException($"memory {MemoryMiB} MiB is more than this host has ({host} MiB)");
        if (!File.Exists(KernelPath)) throw new ArgumentException($"kernel {KernelPath} does not exist");
        if (InitrdPath is not null && !File.Exists(InitrdPath)) throw new ArgumentException($"initrd {InitrdPath} does not exist");
        if (CommandLine.Any(c => c < 0x20 || c > 0x7e)) throw new ArgumentException("the kernel command line must be printable ASCII");
        if (VirtioDeviceCount > MmioLayout.MaxDevices)
            throw new ArgumentException($"at most {MmioLayout.MaxDevices} virtio devices (disks + interfaces + balloon + vsock + rng), got {VirtioDeviceCount}");
        foreach (var net in Networks)
        {
            if (net.TapName.Length is 0 or > 15 || net.TapName.Any(c => c <= ' ' || c > '~' || c == '/'))
                throw new ArgumentException($"tap name '{net.TapName}' must be 1 to 15 printable characters without spaces or '/'");
        }
        if (Vsock is { } vsock)
        {
            if (!Devices.Virtio.Vsock.VirtioVsock.IsValidGuestCid(vsock.GuestCid)) throw new ArgumentException($"vsock guest CID must be between 3 and {uint.MaxValue - 1} (0-2 are reserved), got {vsock.GuestCid}");
            string? folder = Path.GetDirectoryName(Path.GetFullPath(vsock.SocketPath));
            if (folder is null || !Directory.Exists(folder)) throw new ArgumentException($"vsock socket {vsock.SocketPath}: folder {folder} does not exist");
            if (System.Text.Encoding.UTF8.GetByteCount(Path.GetFullPath(vsock.SocketPath)) > 96)
                throw new ArgumentException($"vsock socket path {vsock.SocketPath} is too long for a Unix socket (with its _PORT suffixes)");
        }
        if (Networks.Select(n => n.TapName).Distinct().Count() != Networks.Count)
            throw new ArgumentException("each interface needs its own tap");
        foreach (var disk in Disks)
        {
            if (!File.Exists(disk.Path)) throw new ArgumentException($"disk {disk.Path} does not exist");
            if (disk.Id is { } id && !Devices.Virtio.Block.VirtioBlock.IsValidId(id))
                throw new ArgumentException($"disk id '{id}' must be at most {Devices.Virtio.Block.VirtioBlock.IdLength} printable ASCII characters");
        }
    }

    private static ulong HostMemoryMiB()
    {
        string? line = File.Exists("/proc/meminfo")
            ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))
            : null;
        return line is null ? 0 : ulong.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
    }
}
