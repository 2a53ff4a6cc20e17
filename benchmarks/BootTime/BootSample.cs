using System.Globalization;

namespace Podvisor.Benchmarks.BootTime;

/// <summary>One boot: wall time from process start to the guest's marker, the guest's own uptime then,
/// and the VMM's memory beyond the guest RAM it has touched.</summary>
internal sealed record BootSample(string Vmm, double TotalSeconds, double GuestUptimeSeconds, double RssMiB, double GuestRssMiB)
{
    public double OverheadSeconds => TotalSeconds - GuestUptimeSeconds;

    public double MemoryOverheadMiB => RssMiB - GuestRssMiB;

    public string Format() => string.Create(CultureInfo.InvariantCulture,
        $"sample {Vmm} {TotalSeconds:0.000} {GuestUptimeSeconds:0.000} {RssMiB:0.0} {GuestRssMiB:0.0}");

    public static BootSample Parse(string line)
    {
        string[] p = line.Split(' ');
        double D(int i) => double.Parse(p[i], CultureInfo.InvariantCulture);
        return new BootSample(p[1], D(2), D(3), D(4), D(5));
    }
}
