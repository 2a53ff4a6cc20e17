using System.Diagnostics;
using System.Globalization;

namespace Podvisor.Benchmarks.VirtioThroughput;

/// <summary>
/// One VMM run: the VMM starts inside the benchmark's network namespace (so it reaches the namespace's
/// tap), the guest runs io-bench, the host side of the TCP tests runs in the namespace too. Returns every
/// "IOBENCH name MBps=x [iops=y]" result, guest's and host's.
/// </summary>
internal static class GuestRun
{
    public static Dictionary<string, (double MBps, double? Iops)> Measure(string netns, string ioBench, IReadOnlyList<string> vmm, TimeSpan timeout)
    {
        var results = new Dictionary<string, (double, double?)>();
        using var sink = Start(["ip", "netns", "exec", netns, ioBench, "tcp-sink", "5001", "net-guest-to-host"]);
        var sinkDone = sink.StandardOutput.ReadToEndAsync();
        using var vm = Start(["ip", "netns", "exec", netns, .. vmm]);
        var deadline = DateTime.UtcNow + timeout;
        Task<string>? hostSender = null;
        var console = new System.Text.StringBuilder();
        string? line;
        while ((line = ReadLine(vm, deadline)) is not null)
        {
            console.AppendLine(line);
            if (line.Contains("IOBENCH-LISTENING net-host-to-guest", StringComparison.Ordinal))
            {
                var sender = Start(["ip", "netns", "exec", netns, ioBench, "tcp-send", "10.0.2.2", "5002", "4"]);
                hostSender = sender.StandardOutput.ReadToEndAsync();
            }
            Parse(line, results);
            if (line.Contains("GUEST-EXIT", StringComparison.Ordinal)) break;
        }
        if (!vm.WaitForExit(TimeSpan.FromSeconds(30))) vm.Kill(entireProcessTree: true);
        if (!sinkDone.Wait(TimeSpan.FromSeconds(10))) sink.Kill();
        else Parse(sinkDone.Result, results);
        hostSender?.Wait(TimeSpan.FromSeconds(10));
        if (results.Count == 0) throw new InvalidOperationException($"{vmm[0]}: no results; console:\n{console}\n{vm.StandardError.ReadToEnd()}");
        return results;
    }

    private static string? ReadLine(Process p, DateTime deadline)
    {
        var read = p.StandardOutput.ReadLineAsync();
        return read.Wait(deadline - DateTime.UtcNow) ? read.Result : null;
    }

    private static void Parse(string text, Dictionary<string, (double, double?)> results)
    {
        foreach (string line in text.Split('\n'))
        {
            int at = line.IndexOf("IOBENCH ", StringComparison.Ordinal);
            if (at < 0) continue;
            var parts = line[(at + 8)..].Trim().Split(' ');
            double mbps = 0;
            double? iops = null;
            foreach (string p in parts[1..])
            {
                if (p.StartsWith("MBps=", StringComparison.Ordinal)) mbps = double.Parse(p[5..], CultureInfo.InvariantCulture);
                if (p.StartsWith("iops=", StringComparison.Ordinal)) iops = double.Parse(p[5..], CultureInfo.InvariantCulture);
            }
            results[parts[0]] = (mbps, iops);
        }
    }

    private static Process Start(IReadOnlyList<string> command)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in command.Skip(1)) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }
}
