using System.Text;
using Podvisor.Kvm;

namespace Podvisor.Vmm.Diagnostics;

/// <summary>How many exits of each kind the vCPUs took, and which I/O ports caused them: where a guest's
/// boot spends its exits (each one costs a round trip through the VMM, dearly so under nesting).</summary>
public sealed class ExitStatistics
{
    private readonly long[] _byReason = new long[64];
    private readonly long[] _byPort = new long[65536];
    private long _mmio;

    public void Count(VcpuExitReason reason, ushort? port = null)
    {
        int index = (int)reason;
        if ((uint)index < (uint)_byReason.Length) Interlocked.Increment(ref _byReason[index]);
        if (port is { } p) Interlocked.Increment(ref _byPort[p]);
        if (reason == VcpuExitReason.Mmio) Interlocked.Increment(ref _mmio);
    }

    public long Total => _byReason.Sum();

    public long ForPort(ushort port) => Interlocked.Read(ref _byPort[port]);

    /// <summary>The exits of each reason that occurred, as they stand now.</summary>
    public IReadOnlyList<(VcpuExitReason Reason, long Count)> ByReason()
    {
        var counts = new List<(VcpuExitReason, long)>();
        for (int i = 0; i < _byReason.Length; i++)
            if (Interlocked.Read(ref _byReason[i]) is > 0 and var n) counts.Add(((VcpuExitReason)i, n));
        return counts;
    }

    /// <summary>Adds another VM's counts to these (a launcher's totals over its guest's reboots, each a new VM).</summary>
    public void Add(ExitStatistics other)
    {
        for (int i = 0; i < _byReason.Length; i++) Interlocked.Add(ref _byReason[i], Interlocked.Read(ref other._byReason[i]));
        for (int p = 0; p < _byPort.Length; p++)
            if (Interlocked.Read(ref other._byPort[p]) is > 0 and var n) Interlocked.Add(ref _byPort[p], n);
        Interlocked.Add(ref _mmio, Interlocked.Read(ref other._mmio));
    }

    /// <summary>One line: total, by reason, and the busiest ports.</summary>
    public string Summary(int topPorts = 6)
    {
        var text = new StringBuilder($"{Total} exits:");
        for (int i = 0; i < _byReason.Length; i++)
            if (_byReason[i] > 0) text.Append($" {(VcpuExitReason)i} {_byReason[i]},");
        text.Length--;
        var busiest = Enumerable.Range(0, _byPort.Length).Where(p => _byPort[p] > 0).OrderByDescending(p => _byPort[p]).Take(topPorts);
        text.Append("; ports:");
        foreach (int port in busiest) text.Append($" 0x{port:x} {_byPort[port]},");
        text.Length--;
        return text.ToString();
    }
}
