namespace Podvisor.Benchmarks.Migration;

/// <summary>One migration as a VMM reported it.</summary>
internal sealed record MigrationSample(string Vmm, string Workload, double DowntimeMs, double TotalMs, double TransferredMiB, bool GuestAliveAfter)
{
    public string Line() => FormattableString.Invariant($"result {Vmm} {Workload} {DowntimeMs} {TotalMs} {TransferredMiB} {GuestAliveAfter}");

    public static MigrationSample? Parse(string line)
    {
        if (!line.StartsWith("result ", StringComparison.Ordinal)) return null;
        var p = line.Split(' ');
        var c = System.Globalization.CultureInfo.InvariantCulture;
        return new(p[1], p[2], double.Parse(p[3], c), double.Parse(p[4], c), double.Parse(p[5], c), bool.Parse(p[6]));
    }
}
