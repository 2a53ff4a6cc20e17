using Podvisor.Vmm.Machine;

namespace Podvisor.Cli;

/// <summary><c>--vsock PATH[,cid=N]</c>: a virtio-vsock device whose host side is the Unix socket PATH.</summary>
internal static class VsockArgument
{
    public const ulong DefaultCid = 3;

    public static VsockConfig Parse(string value)
    {
        var parts = value.Split(',');
        if (parts[0].Length == 0) throw new ArgumentException($"--vsock {value}: give PATH[,cid=N]");
        ulong cid = DefaultCid;
        foreach (string option in parts.Skip(1))
        {
            if (!option.StartsWith("cid=", StringComparison.Ordinal) || !ulong.TryParse(option[4..], out cid))
                throw new ArgumentException($"--vsock {value}: unknown option '{option}' (give PATH[,cid=N])");
        }
        return new VsockConfig(cid, Path.GetFullPath(parts[0]));
    }
}
