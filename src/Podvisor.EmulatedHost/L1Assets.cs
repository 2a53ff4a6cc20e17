using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Podvisor.EmulatedHost;

/// <summary>
/// The emulated host's kernel and initramfs: Debian's stock kernel (downloaded with apt-get, unpacked
/// without installing) and a busybox initramfs with kvm_amd, virtio, 9p, overlayfs, tun, loop and dm_delay modules and our
/// job agent as /init. Built once and cached.
/// </summary>
public sealed record L1Assets(string Kernel, string Initrd, string KernelVersion)
{
    /// <summary>Modules /init loads, in addition to what they depend on.</summary>
    public static readonly string[] Modules = ["kvm_amd", "virtio_pci", "9pnet_virtio", "9p", "virtio_console", "overlay", "tun",
        "loop", "dm_delay",      // a slow block device for the virtio-blk benchmark
        "isofs",                 // the launcher tests mount the cloud-init seeds they write
        // Pods wired as a CNI does, and the launcher's masquerade NAT. crc32c_generic before the rest: libcrc32c
        // asks the crypto API for crc32c when it loads, and L1 has no modprobe to fetch it then.
        "veth", "crc32c_generic", "nf_tables", "nft_chain_nat", "nft_nat", "nft_masq"];

    public const string BusyboxPath = "/bin/busybox";

    public static string DefaultCacheDirectory =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "podvisor", "emulated-host");

    public static string InitScript
    {
        get
        {
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("l1-init.sh")
                ?? throw new InvalidOperationException("l1-init.sh is not embedded");
            return new StreamReader(stream).ReadToEnd();
        }
    }

    /// <summary>Returns cached assets, building what is missing (needs apt-get, dpkg-deb, depmod and busybox-static).</summary>
    public static async Task<L1Assets> EnsureAsync(string? cacheDirectory = null, Action<string>? log = null,
        CancellationToken cancellationToken = default)
    {
        string cache = cacheDirectory ?? DefaultCacheDirectory;
        Directory.CreateDirectory(cache);
        // One builder at a time, across threads and processes (test classes and tools boot hosts in parallel).
        await using var buildLock = await FileLock.AcquireAsync(Path.Combine(cache, ".lock"), cancellationToken);
        string package = await FindKernelPackageAsync(cancellationToken);
        string version = package["linux-image-".Length..];
        string dir = Path.Combine(cache, version);
        string kroot = Path.Combine(dir, "kroot");
        string modulesDir = Path.Combine(kroot, "lib", "modules", version);

        if (!File.Exists(Path.Combine(modulesDir, "modules.dep")))
        {
            log?.Invoke($"emulated host: fetching {package} (Debian's kernel; unpacked, not installed)");
            string debDir = Path.Combine(dir, "deb");
            Directory.CreateDirectory(debDir);
            await ProcessRunner.RunAsync("apt-get", ["download", package], debDir, cancellationToken);
            string deb = Directory.GetFiles(debDir, $"{package}_*.deb").Single();
            if (Directory.Exists(kroot)) Directory.Delete(kroot, recursive: true);
            await ProcessRunner.RunAsync("dpkg-deb", ["-x", deb, kroot], cancellationToken: cancellationToken);
            // The .deb ships no modules.dep; depmod writes it.
            await ProcessRunner.RunAsync("depmod", ["-b", kroot, version], cancellationToken: cancellationToken);
            File.Delete(deb);
        }

        string kernel = Path.Combine(dir, "vmlinuz");
        if (!File.Exists(kernel)) File.Copy(Path.Combine(kroot, "boot", $"vmlinuz-{version}"), kernel);

        if (!File.Exists(BusyboxPath) || !ElfInfo.IsStatic64(BusyboxPath))
            throw new EmulatedHostException($"{BusyboxPath} is missing or not statically linked: apt-get install busybox-static");

        var modules = new KernelModules(File.ReadLines(Path.Combine(modulesDir, "modules.dep"))).LoadOrder(Modules);
        string script = InitScript;
        string key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
            script + string.Join('\n', modules) + new FileInfo(BusyboxPath).Length)))[..12].ToLowerInvariant();
        string initrd = Path.Combine(dir, $"initrd-{key}.gz");
        if (!File.Exists(initrd))
        {
            log?.Invoke($"emulated host: building {initrd}");
            string partial = initrd + ".partial";
            await using (var file = File.Create(partial))
            await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
            {
                WriteInitramfs(gzip, script, modules, modulesDir);
            }
            File.Move(partial, initrd, overwrite: true);
        }
        return new L1Assets(kernel, initrd, version);
    }

    /// <summary>Where the kernel's modules (and modules.dep) are.</summary>
    public string ModulesDirectory => Path.Combine(Path.GetDirectoryName(Kernel)!, "kroot", "lib", "modules", KernelVersion);

    /// <summary>A busybox initramfs: <paramref name="initScript"/> as /init, the modules in /modules (load order in
    /// /modules.list), and the mount points both our initramfs scripts use.</summary>
    public static void WriteInitramfs(Stream output, string initScript, IReadOnlyList<string> modules, string modulesDir)
    {
        var cpio = new CpioArchive(output);
        foreach (string d in new[] { "bin", "proc", "sys", "dev", "modules", "etc", "tmp", "ctl", "ro", "rw", "newroot" })
            cpio.AddDirectory(d);
        cpio.AddFile("bin/busybox", File.ReadAllBytes(BusyboxPath), 0x1ED);
        cpio.AddFile("init", Encoding.UTF8.GetBytes(initScript), 0x1ED);
        cpio.AddFile("modules.list", Encoding.UTF8.GetBytes(string.Join('\n', modules) + "\n"));
        foreach (string module in modules)
            cpio.AddFile($"modules/{Path.GetFileName(module)}", File.ReadAllBytes(Path.Combine(modulesDir, module)));
        cpio.Finish();
    }

    private static async Task<string> FindKernelPackageAsync(CancellationToken cancellationToken)
    {
        string depends = await ProcessRunner.RunAsync("apt-cache", ["depends", "linux-image-amd64"], cancellationToken: cancellationToken);
        foreach (string line in depends.Split('\n'))
        {
            string trimmed = line.Trim();
            if (trimmed.StartsWith("Depends: linux-image-", StringComparison.Ordinal) && char.IsAsciiDigit(trimmed["Depends: linux-image-".Length]))
                return trimmed["Depends: ".Length..];
        }
        throw new EmulatedHostException("apt-cache knows no linux-image-amd64 kernel: run apt-get update");
    }
}
