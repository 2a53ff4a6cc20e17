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

    /// <summary>
    /// An initrd like <see cref="Initrd"/> whose init also runs <paramref name="script"/> (with sh) after its
    /// marker: <see cref="Initrd"/> with a second, uncompressed cpio archive appended that adds
    /// /etc/guest-run (the file shared/guest/make-initramfs.sh -r installs) and any extra files. The kernel
    /// unpacks concatenated archives in order; building it takes milliseconds, where running
    /// make-initramfs.sh inside the emulated host took half a minute.
    /// </summary>
    /// <param name="extraFiles">"SRC:DEST" pairs; DEST's folder must exist in the base image (bin, etc, …).</param>
    public static string InitrdRunning(string script, string directory, IEnumerable<string>? extraFiles = null)
    {
        string output = Path.Combine(directory, "initrd.gz");
        var files = new List<(string, byte[], uint)> { ("etc/guest-run", System.Text.Encoding.UTF8.GetBytes(script), 0x1ED /* 0755 */) };
        foreach (string pair in extraFiles ?? [])
        {
            int colon = pair.LastIndexOf(':');
            files.Add((pair[(colon + 1)..], File.ReadAllBytes(pair[..colon]), 0x1ED));
        }
        CpioArchive.Extend(Initrd, output, files);
        return output;
    }

    /// <summary>Compiles the guest helper <c>Guest/NAME.c</c> (copied beside the tests) into a static binary in
    /// <paramref name="directory"/> and returns its path.</summary>
    public static string StaticGuestProgram(string name, string directory)
    {
        string source = Path.Combine(AppContext.BaseDirectory, "Guest", $"{name}.c");
        string binary = Path.Combine(directory, name);
        using var gcc = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("gcc", ["-static", "-O2", "-o", binary, source]) { RedirectStandardError = true })!;
        string errors = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        if (gcc.ExitCode != 0) throw new InvalidOperationException($"gcc {source}: {errors}");
        return binary;
    }

    /// <summary>Debian's linux-image-amd64 kernel (fetched with apt-get download, never installed).</summary>
    public static string DebianKernel => L1Assets.EnsureAsync().GetAwaiter().GetResult().Kernel;
}
