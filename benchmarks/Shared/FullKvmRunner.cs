using System.Diagnostics;
using Podvisor.EmulatedHost;

namespace Podvisor.Benchmarks;

/// <summary>
/// What the VMM benchmarks share: the NativeAOT podvisor they measure (as it ships), and running their own
/// measuring half where full KVM is — directly on hardware-assisted KVM, else inside the emulated KVM host.
/// Compiled into each benchmark program (benchmarks/Shared).
/// </summary>
internal static class FullKvmRunner
{
    /// <summary>The repository root, seen from a benchmark's bin/Release/net10.0 folder.</summary>
    public static string RepositoryRoot => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));

    /// <summary>Publishes the CLI with NativeAOT into artifacts/podvisor-aot; returns the executable, or null if publishing failed.</summary>
    public static string? PublishPodvisor() => PublishAot("src/Podvisor.Cli", "podvisor-aot", "podvisor");

    /// <summary>Publishes <paramref name="project"/> (NativeAOT, as it ships) into artifacts/<paramref name="folder"/>;
    /// returns <paramref name="executable"/> there, or null if publishing failed.</summary>
    public static string? PublishAot(string project, string folder, string executable)
    {
        string aotDir = Path.Combine(RepositoryRoot, "artifacts", folder);
        Console.Error.WriteLine($"publishing the NativeAOT {executable} to {aotDir}");
        using var publish = Process.Start("dotnet", ["publish", Path.Combine(RepositoryRoot, project), "-c", "Release", "-r", "linux-x64", "-o", aotDir, "-nologo", "-v", "q"])!;
        publish.WaitForExit();
        return publish.ExitCode == 0 ? Path.Combine(aotDir, executable) : null;
    }

    /// <summary>Runs <paramref name="command"/> with full KVM; returns its exit code, its standard output and where it ran.</summary>
    /// <param name="emulatedHostMemoryMiB">The emulated host's memory, when one is needed.</param>
    public static async Task<(int ExitCode, string Output, string Where)> RunAsync(IReadOnlyList<string> command, int emulatedHostMemoryMiB, TimeSpan timeout)
    {
        var output = new MemoryStream();
        if (!Kvm.KvmBackend.Detect().IsHardwareAssisted)
        {
            await using var host = await EmulatedKvmHost.StartAsync(new EmulatedHostOptions { MemoryMiB = emulatedHostMemoryMiB, Cpus = 1, WritableShares = [], Log = Console.Error.WriteLine });
            int rc = await host.RunAsync(command, output, Console.OpenStandardError(), timeout);
            return (rc, System.Text.Encoding.UTF8.GetString(output.ToArray()), "inside the emulated KVM host (kvm_amd under QEMU TCG)");
        }
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true };
        foreach (string a in command.Skip(1)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardOutput.BaseStream.CopyTo(output);
        p.WaitForExit();
        return (p.ExitCode, System.Text.Encoding.UTF8.GetString(output.ToArray()), "on this host's KVM");
    }
}
