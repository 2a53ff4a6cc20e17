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
