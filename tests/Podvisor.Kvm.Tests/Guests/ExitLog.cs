namespace Podvisor.Kvm.Tests.Guests;

/// <summary>
/// Runs a guest to HLT (or a fatal exit), answering port reads and MMIO reads from tables, and records
/// every exit as one line, so tests can compare the whole exit sequence exactly.
/// </summary>
public static class ExitLog
{
    public static List<string> RunToHalt(Vcpu vcpu, IReadOnlyDictionary<ushort, byte[]>? portAnswers = null,
        IReadOnlyDictionary<ulong, byte[]>? mmioAnswers = null, int maxExits = 1000)
    {
        var log = new List<string>();
        using var watchdog = new VcpuWatchdog(vcpu);
        for (int i = 0; i < maxExits; i++)
        {
            var exit = vcpu.Run();
            switch (exit.Reason)
            {
                case VcpuExitReason.Intr:
                    watchdog.ThrowIfFired($"running to HLT after [{string.Join("; ", log)}]");
                    continue;
                case VcpuExitReason.Io:
                    var io = exit.Io;
                    if (io.IsOut)
                    {
                        log.Add($"out {io.Port:x} {io.Size} {Convert.ToHexString(io.Data)}");
                    }
                    else
                    {
                        log.Add($"in {io.Port:x} {io.Size}");
                        if (portAnswers?.TryGetValue(io.Port, out var answer) == true) answer.AsSpan(0, io.Data.Length).CopyTo(io.Data);
                    }
                    continue;
                case VcpuExitReason.Mmio:
                    var mmio = exit.Mmio;
                    if (mmio.IsWrite)
                    {
                        log.Add($"mmio-write {mmio.Address:x} {mmio.Data.Length} {Convert.ToHexString(mmio.Data)}");
                    }
                    else
                    {
                        log.Add($"mmio-read {mmio.Address:x} {mmio.Data.Length}");
                        if (mmioAnswers?.TryGetValue(mmio.Address, out var answer) == true) answer.AsSpan(0, mmio.Data.Length).CopyTo(mmio.Data);
                    }
                    continue;
                case VcpuExitReason.Hlt:
                    log.Add("hlt");
                    return log;
                default:
                    log.Add(exit.ToString());
                    return log;
            }
        }
        log.Add($"gave up after {maxExits} exits");
        return log;
    }
}
