namespace Podvisor.Vmm.Machine;

/// <summary>What to boot: kernel, initrd, command line, vCPUs and memory.</summary>
public sealed record MachineConfig
{
    public const string DefaultCommandLine = "console=ttyS0 reboot=k panic=-1 pci=off i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd";
    public const int MaxCpus = 254;

    public required string KernelPath { get; init; }
    public string? InitrdPath { get; init; }
    public string CommandLine { get; init; } = DefaultCommandLine;
    public int Cpus { get; init; } = 1;
    public ulong MemoryMiB { get; init; } = 256;

    /// <summary>Checks what can be checked before touching KVM; throws <see cref="ArgumentException"/> naming the field.</summary>
    public void Validate()
    {
        if (Cpus < 1 || Cpus > MaxCpus) throw new ArgumentException($"cpus must be between 1 and {MaxCpus}, got {Cpus}");
        if (MemoryMiB < 16) throw new ArgumentException($"memory must be at least 16 MiB, got {MemoryMiB} MiB");
        ulong limit = (Boot.BootLayout.MmioStart >> 20);
        if (MemoryMiB > limit) throw new ArgumentException($"memory above {limit} MiB (the MMIO window at 3.25 GiB) is not supported yet, got {MemoryMiB} MiB");
        if (!File.Exists(KernelPath)) throw new ArgumentException($"kernel {KernelPath} does not exist");
        if (InitrdPath is not null && !File.Exists(InitrdPath)) throw new ArgumentException($"initrd {InitrdPath} does not exist");
        if (CommandLine.Any(c => c < 0x20 || c > 0x7e)) throw new ArgumentException("the kernel command line must be printable ASCII");
    }
}
