using Podvisor.EmulatedHost;

namespace Podvisor.Vmm.Tests;

/// <summary>Test guests: the microVM kernel and busybox initrd from the steering repo's shared/guest
/// (found beside the repository), and Debian's stock kernel as the emulated host uses it.</summary>
internal static class GuestImages
{
    private static readonly Lazy<string> GuestDir = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "guest");
            if (File.Exists(Path.Combine(candidate, "bzImage"))) return candidate;
        }
        throw new FileNotFoundException($"shared/guest/bzImage was not found beside any folder above {AppContext.BaseDirectory}; the test guests live in the steering repository's shared/guest");
    });

    public static string MicrovmKernel => Path.Combine(GuestDir.Value, "bzImage");

    /// <summary>The same kernel as an uncompressed ELF with the PVH entry note.</summary>
    public static string MicrovmVmlinux => Path.Combine(GuestDir.Value, "vmlinux");

    public static string Initrd => Path.Combine(GuestDir.Value, "initrd.gz");

    /// <summary>Like <see cref="Initrd"/>, but init drops to a busybox shell on the serial console.</summary>
    public static string ShellInitrd => Path.Combine(GuestDir.Value, "initrd-shell.gz");

    public static string MakeInitramfsScript => Path.Combine(GuestDir.Value, "make-initramfs.sh");

    /// <summary>
    /// An initrd like <see cref="Initrd"/> whose init also runs <paramref name="script"/> (with sh) after its
    /// marker, built with shared/guest/make-initramfs.sh into <paramref name="directory"/>.
    /// </summary>
    public static string InitrdRunning(string script, string directory, IEnumerable<string>? extraFiles = null)
    {
        string scriptPath = Path.Combine(directory, "guest-run.sh");
        File.WriteAllText(scriptPath, script);
        string output = Path.Combine(directory, "initrd.gz");
        var psi = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { MakeInitramfsScript, "-r", scriptPath, "-o", output }) psi.ArgumentList.Add(a);
        foreach (string file in extraFiles ?? [])
        {
            psi.ArgumentList.Add("-a");
            psi.ArgumentList.Add(file);               // SRC:DEST
        }
        using var p = System.Diagnostics.Process.Start(psi)!;
        string errors = p.StandardError.ReadToEnd() + p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"make-initramfs.sh failed: {errors}");
        return output;
    }

    /// <summary>Debian's linux-image-amd64 kernel (fetched with apt-get download, never installed).</summary>
    public static string DebianKernel => L1Assets.EnsureAsync().GetAwaiter().GetResult().Kernel;
}
