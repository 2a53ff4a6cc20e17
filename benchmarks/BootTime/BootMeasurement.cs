using System.Diagnostics;
using System.Globalization;

namespace Podvisor.Benchmarks.BootTime;

/// <summary>Starts a VMM, waits for GUEST-INIT-OK on its console, samples its memory, and stops it.</summary>
internal static class BootMeasurement
{
    public static BootSample Measure(string vmm, string file, IReadOnlyList<string> args, ulong guestMiB, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(psi)!;
        var marker = new TaskCompletionSource<(double Total, double Uptime)>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.Contains("GUEST-INIT-OK", StringComparison.Ordinal))
            {
                double total = watch.Elapsed.TotalSeconds;
                string uptime = line[(line.IndexOf("uptime=", StringComparison.Ordinal) + 7)..].Split(' ')[0].TrimEnd('s');
                marker.TrySetResult((total, double.Parse(uptime, CultureInfo.InvariantCulture)));
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!marker.Task.Wait(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{vmm}: no GUEST-INIT-OK within {timeout.TotalSeconds} s");
        }
        var (rss, guestRss) = Memory(process.Id, guestMiB);
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
        return new BootSample(vmm, marker.Task.Result.Total, marker.Task.Result.Uptime, rss, guestRss);
    }

    /// <summary>Total RSS, and the RSS of the anonymous mapping(s) as large as guest RAM (the guest's touched pages).</summary>
    private static (double Rss, double GuestRss) Memory(int pid, ulong guestMiB)
    {
        double rssKiB = 0, guestKiB = 0;
        bool inGuestMapping = false;
        foreach (string line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            if (line.StartsWith("Size:", StringComparison.Ordinal))
            {
                ulong sizeKiB = ulong.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                inGuestMapping = sizeKiB >= guestMiB * 1024 && sizeKiB <= guestMiB * 1024 + 4096;
            }
            else if (line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                double kib = double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                rssKiB += kib;
                if (inGuestMapping) guestKiB += kib;
            }
        }
        return (rssKiB / 1024, guestKiB / 1024);
    }
}
