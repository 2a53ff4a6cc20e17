using Podvisor.EmulatedHost;

namespace Podvisor.Benchmarks.VirtioThroughput;

/// <summary>The shared busybox initrd plus a second cpio archive with io-bench and the script that runs it.</summary>
internal static class GuestInitrd
{
    /// <summary>What the guest runs after its init marker (the initrd's /etc/guest-run hook).</summary>
    public const string Script = """
        ip link set eth0 up && ip addr add 10.0.2.2/24 dev eth0
        B=/bin/io-bench
        $B blk /dev/vda seqread 1048576 4 1
        $B blk /dev/vda seqwrite 1048576 4 1
        $B blk /dev/vda randread 4096 4 1
        $B blk /dev/vda randread 4096 4 8
        $B blk /dev/vda randwrite 4096 4 1
        $B tcp-send 10.0.2.1 5001 4
        $B tcp-sink 5002 net-host-to-guest
        """;

    /// <param name="only">Keep only the tests whose line contains this (e.g. "seqread"); null keeps all.</param>
    public static string Build(string baseInitrd, string ioBench, string output, string? only = null)
    {
        string script = only is null ? Script
            : string.Join('\n', Script.Split('\n').Where(l => !l.StartsWith("$B", StringComparison.Ordinal) || l.Contains(only, StringComparison.Ordinal)));
        CpioArchive.Extend(baseInitrd, output,
            [("etc/guest-run", System.Text.Encoding.UTF8.GetBytes(script), 0x1ED), ("bin/io-bench", File.ReadAllBytes(ioBench), 0x1ED)]);
        return output;
    }
}
