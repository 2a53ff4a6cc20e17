using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace Podvisor.Benchmarks.KvmRunRoundTrip;

/// <summary>Compiles and runs baseline.c (gcc -O2), the same loop in plain C.</summary>
internal static class CBaseline
{
    public static string Build()
    {
        string dir = Directory.CreateTempSubdirectory("podvisor-bench-").FullName;
        string source = Path.Combine(dir, "baseline.c");
        using (var resource = Assembly.GetExecutingAssembly().GetManifestResourceStream("baseline.c")!)
        using (var file = File.Create(source))
            resource.CopyTo(file);
        string binary = Path.Combine(dir, "baseline");
        Run("gcc", ["-O2", "-o", binary, source]);
        return binary;
    }

    public static double Run(string binary, long exits)
    {
        string output = Run(binary, [exits.ToString(CultureInfo.InvariantCulture)]);
        return double.Parse(output.Split(' ')[1], CultureInfo.InvariantCulture);
    }

    private static string Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} failed: {stderr}");
        return stdout.Trim();
    }
}
