using Podvisor.Vmm.Devices.Virtio.Block;
using Podvisor.Vmm.Machine;

namespace Podvisor.Cli;

/// <summary><c>--disk PATH[,readonly][,id=SERIAL][,io=MODE]</c>: a virtio-blk disk from the command line.</summary>
internal static class DiskArgument
{
    public const string Syntax = "PATH[,readonly][,id=SERIAL][,io=io_uring|threads|sync]";

    public static DiskConfig Parse(string value)
    {
        var parts = value.Split(',');
        if (parts[0].Length == 0) throw new ArgumentException($"--disk {value}: give {Syntax}");
        bool readOnly = false;
        string? id = null;
        BlockIoMode? io = null;
        foreach (string option in parts.Skip(1))
        {
            if (option is "readonly" or "ro") readOnly = true;
            else if (option.StartsWith("id=", StringComparison.Ordinal)) id = option[3..];
            else if (option.StartsWith("io=", StringComparison.Ordinal))
                io = IoModeOf(option[3..]) ?? throw new ArgumentException($"--disk {value}: unknown I/O mode '{option[3..]}' (give io_uring, threads or sync)");
            else throw new ArgumentException($"--disk {value}: unknown option '{option}' (give {Syntax})");
        }
        return new DiskConfig(Path.GetFullPath(parts[0]), readOnly, id, io);
    }

    public static BlockIoMode? IoModeOf(string name) => name switch
    {
        "io_uring" => BlockIoMode.IoUring,
        "threads" => BlockIoMode.Threads,
        "sync" => BlockIoMode.Sync,
        _ => null,
    };

    public static string NameOf(BlockIoMode mode) => mode switch
    {
        BlockIoMode.IoUring => "io_uring",
        BlockIoMode.Threads => "threads",
        _ => "sync",
    };

    /// <summary>The same disk as a --disk value again (to run the VM inside the emulated host).</summary>
    public static string Format(DiskConfig disk) =>
        disk.Path + (disk.ReadOnly ? ",readonly" : "") + (disk.Id is { } id ? $",id={id}" : "") + (disk.Io is { } io ? $",io={NameOf(io)}" : "");
}
