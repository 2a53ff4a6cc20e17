using System.Diagnostics;
using System.Globalization;

namespace Podvisor.Vmm.Diagnostics;

/// <summary>
/// Time since this process started, from /proc/self/stat's start time (clock ticks since boot) and the
/// monotonic clock (.NET's Stopwatch on Linux: CLOCK_MONOTONIC, also counted from boot). Cheaper than
/// Process.StartTime, which converts to local time and so loads the time-zone database: measurable when
/// every millisecond of VMM start-up counts.
/// </summary>
public static class ProcessClock
{
    private const double ClockTicksPerSecond = 100;   // USER_HZ, fixed at 100 on Linux
    private static readonly Lazy<double> StartSecondsSinceBoot = new(ReadStart);

    public static TimeSpan SinceStart
    {
        get
        {
            double now = Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
            double elapsed = now - StartSecondsSinceBoot.Value;
            // A host whose monotonic clock is not counted from boot (a suspended laptop): the slow way.
            return elapsed is >= 0 and < 86_400 * 365
                ? TimeSpan.FromSeconds(elapsed)
                : DateTime.Now - Process.GetCurrentProcess().StartTime;
        }
    }

    private static double ReadStart()
    {
        // Field 22 of /proc/self/stat; the command name (field 2) may hold spaces, so count after its ')'.
        string stat = File.ReadAllText("/proc/self/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[22 - 3], CultureInfo.InvariantCulture) / ClockTicksPerSecond;
    }
}
