using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Podvisor.Benchmarks.KvmRunRoundTrip;
using Podvisor.EmulatedHost;

// KVM_RUN round trip for a port-I/O exit: Podvisor.Kvm vs a minimal C program doing the same, on this
// host's /dev/kvm and (with --emulated-host) inside the emulated KVM host. Prints both and the ratio.
//   dotnet run -c Release --project benchmarks/KvmRunRoundTrip [-- --emulated-host]
bool emulated = args.Contains("--emulated-host");
int rounds = 5;

var local = Measure(rounds);
var rows = new List<(string Where, Result Result)> { ($"this host ({Podvisor.Kvm.KvmBackend.Detect().Module})", local) };

if (emulated)
{
    await using var host = await EmulatedKvmHost.StartAsync(new EmulatedHostOptions { Log = Console.Error.WriteLine, WritableShares = [] });
    var output = new MemoryStream();
    string self = Assembly.GetExecutingAssembly().Location;
    int rc = await host.RunAsync(["dotnet", self, "--machine-readable"], output, Console.OpenStandardError(), TimeSpan.FromMinutes(20));
    if (rc != 0) throw new InvalidOperationException($"the benchmark inside the emulated host failed (exit {rc})");
    rows.Add(("emulated KVM host (kvm_amd under TCG)", Result.Parse(System.Text.Encoding.UTF8.GetString(output.ToArray()))));
}

if (args.Contains("--machine-readable"))
{
    Console.WriteLine(local.Format());
    return;
}

Console.WriteLine($"KVM_RUN round trip, port-I/O exit (median of {rounds} rounds; lower is better)");
Console.WriteLine($"{"where",-40} {"Podvisor.Kvm (C#)",18} {"C baseline",12} {"C# / C",8}");
foreach (var (where, r) in rows)
    Console.WriteLine($"{where,-40} {r.CSharpNs,15:0.0} ns {r.CNs,9:0.0} ns {r.CSharpNs / r.CNs,8:0.00}x");

static Result Measure(int rounds)
{
    string baseline = CBaseline.Build();
    // Size the run to take about a second per round at the speed this host shows.
    double probe = RoundTrip.MeasureNsPerExit(2000);
    long exits = Math.Clamp((long)(1e9 / probe), 2000, 500_000);
    var csharp = new List<double>();
    var c = new List<double>();
    for (int i = 0; i < rounds; i++)
    {
        csharp.Add(RoundTrip.MeasureNsPerExit(exits));
        c.Add(CBaseline.Run(baseline, exits));
    }
    return new Result(Median(csharp), Median(c), exits);
}

static double Median(List<double> values)
{
    values.Sort();
    return values[values.Count / 2];
}

internal sealed record Result(double CSharpNs, double CNs, long Exits)
{
    public string Format() => string.Create(CultureInfo.InvariantCulture, $"result {CSharpNs:0.0} {CNs:0.0} {Exits}");

    public static Result Parse(string text)
    {
        string line = text.Split('\n').Last(l => l.StartsWith("result ", StringComparison.Ordinal));
        string[] p = line.Split(' ');
        return new Result(double.Parse(p[1], CultureInfo.InvariantCulture), double.Parse(p[2], CultureInfo.InvariantCulture), long.Parse(p[3], CultureInfo.InvariantCulture));
    }
}
