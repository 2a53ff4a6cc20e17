using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Podvisor.EmulatedHost;

namespace Podvisor.Testing;

/// <summary>
/// A Debian guest with real cloud-init, as users run: Debian's stock kernel (the emulated host's, from apt),
/// an initramfs that loads its virtio and ext4 modules, and an ext4 root disk holding Debian's cloud-init
/// package and everything it needs — packages fetched with <c>apt-get download</c> and unpacked, never
/// installed on this machine. Its init runs cloud-init's four stages, then a shell on the serial console.
/// Built once per content (packages, scripts, modules) into ~/.cache/podvisor/cloud-guest; needs apt-get,
/// dpkg-deb, tar, mke2fs and busybox-static. The root disk is a template: copy it before booting.
/// </summary>
public sealed record CloudGuestImage(string Kernel, string Initrd, string RootDisk)
{
    /// <summary>The command line it boots with; the guest's own init is on the root disk.</summary>
    public const string CommandLine = "console=ttyS0 panic=-1 quiet";

    /// <summary>What the guest prints on its console once cloud-init's last stage has run.</summary>
    public const string CloudInitDoneMarker = "podvisor-guest: cloud-init done";

    /// <summary>cloud-init and the base system a Debian image has (Essential and required packages are not pulled in
    /// by dependencies), plus ifupdown and a DHCP client for cloud-init's network configuration, and ping.</summary>
    private static readonly string[] Packages =
    [
        "cloud-init", "base-files", "base-passwd", "bash", "coreutils", "dash", "findutils", "grep", "gzip", "hostname",
        "mawk", "mount", "sed", "util-linux", "ifupdown", "isc-dhcp-client", "iproute2", "iputils-ping", "procps",
    ];

    /// <summary>What udev would load on a full Debian: the virtio drivers, the root's and the seed's filesystems, and the
    /// ACPI button driver (without it the kernel leaves the power button's event disabled, and the launcher's shutdown
    /// request goes unheard).</summary>
    private static readonly string[] Modules = ["crc32c_generic", "virtio_mmio", "virtio_blk", "virtio_net", "virtio_rng", "ext4", "isofs", "button"];

    private const long RootDiskBytes = 640L << 20;

    /// <summary>Part of the cache key with the packages and scripts: raise it when the way the image is built changes.</summary>
    private const int BuildRecipe = 3;

    public static string DefaultCacheDirectory => Path.Combine(Path.GetDirectoryName(L1Assets.DefaultCacheDirectory)!, "cloud-guest");

    public static async Task<CloudGuestImage> EnsureAsync(CancellationToken cancellationToken = default)
    {
        var l1 = await L1Assets.EnsureAsync(cancellationToken: cancellationToken);
        string modulesDir = l1.ModulesDirectory;
        var modules = new KernelModules(File.ReadLines(Path.Combine(modulesDir, "modules.dep"))).LoadOrder(Modules);
        string initramfsInit = Resource("initramfs-init.sh"), guestInit = Resource("guest-init.sh"), cloudCfg = Resource("cloud.cfg");
        string key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\0',
            [BuildRecipe.ToString(), l1.KernelVersion, .. Packages, .. modules, initramfsInit, guestInit, cloudCfg, RootDiskBytes.ToString()]))))[..12].ToLowerInvariant();
        string dir = Path.Combine(DefaultCacheDirectory, key);
        var image = new CloudGuestImage(l1.Kernel, Path.Combine(dir, "initrd.gz"), Path.Combine(dir, "root.img"));
        if (File.Exists(image.RootDisk) && File.Exists(image.Initrd)) return image;

        Directory.CreateDirectory(DefaultCacheDirectory);
        await using var buildLock = await FileLock.AcquireAsync(Path.Combine(DefaultCacheDirectory, ".lock"), cancellationToken);
        if (File.Exists(image.RootDisk) && File.Exists(image.Initrd)) return image;
        string work = Path.Combine(DefaultCacheDirectory, $"{key}.partial");
        if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        Directory.CreateDirectory(work);

        try
        {
            await BuildRootDiskAsync(work, guestInit, cloudCfg, cancellationToken);
        }
        catch (EmulatedHostException e)
        {
            throw new InvalidOperationException($"building the cloud guest image ({dir}) failed — it is built where Debian's archive is reachable, " +
                "so not inside the emulated KVM host: build it on the host first (the host tier's CloudGuestImageTests does): " + e.Message, e);
        }
        await using (var file = File.Create(Path.Combine(work, "initrd.gz")))
        await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        {
            L1Assets.WriteInitramfs(gzip, initramfsInit, modules, modulesDir);
        }
        Directory.Delete(Path.Combine(work, "root"), recursive: true);
        Directory.Delete(Path.Combine(work, "debs"), recursive: true);
        Directory.Move(work, dir);
        // Images of other recipes are stale (each is a few hundred MiB): only this one stays.
        foreach (string stale in Directory.GetDirectories(DefaultCacheDirectory).Where(d => d != dir))
            Directory.Delete(stale, recursive: true);
        return image;
    }

    private static async Task BuildRootDiskAsync(string work, string guestInit, string cloudCfg, CancellationToken cancellationToken)
    {
        // The closure apt would install on an empty system, without recommends.
        string simulation = await ProcessRunner.RunAsync("apt-get",
            ["install", "--simulate", "--no-install-recommends", "-o", "Dir::State::Status=/dev/null", .. Packages], cancellationToken: cancellationToken);
        var closure = simulation.Split('\n').Where(l => l.StartsWith("Inst ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]).ToList();
        if (!closure.Contains("cloud-init")) throw new InvalidOperationException($"apt-get would not install cloud-init:\n{simulation}");
        string debs = Directory.CreateDirectory(Path.Combine(work, "debs")).FullName;
        await ProcessRunner.RunAsync("apt-get", ["download", .. closure], debs, cancellationToken);

        // Debian's merged /usr: /bin, /sbin and /lib are links into /usr, and unpacking must follow them.
        string root = Directory.CreateDirectory(Path.Combine(work, "root")).FullName;
        foreach (string d in new[] { "bin", "sbin", "lib", "lib64" })
        {
            Directory.CreateDirectory(Path.Combine(root, "usr", d));
            File.CreateSymbolicLink(Path.Combine(root, d), $"usr/{d}");
        }
        foreach (string deb in Directory.GetFiles(debs, "*.deb").Order())
            await ProcessRunner.RunAsync("sh", ["-c", "dpkg-deb --fsys-tarfile \"$1\" | tar -x --keep-directory-symlink -C \"$2\"", "sh", deb, root],
                cancellationToken: cancellationToken);

        // What the installer and maintainer scripts would have done, as far as booting needs: accounts, fstab, our init.
        File.Copy(Path.Combine(root, "usr/share/base-passwd/passwd.master"), Path.Combine(root, "etc/passwd"), overwrite: true);
        File.Copy(Path.Combine(root, "usr/share/base-passwd/group.master"), Path.Combine(root, "etc/group"), overwrite: true);
        File.CreateSymbolicLink(Path.Combine(root, "usr/bin/awk"), "mawk");                                        // mawk's update-alternatives
        File.WriteAllText(Path.Combine(root, "etc/fstab"), "LABEL=cloudroot / ext4 rw,errors=remount-ro 0 1\n");     // dhclient-script reads it
        File.WriteAllText(Path.Combine(root, "etc/hostname"), "localhost\n");
        File.WriteAllText(Path.Combine(root, "etc/hosts"), "127.0.0.1 localhost\n");
        File.WriteAllText(Path.Combine(root, "etc/network/interfaces"), "source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n");
        File.WriteAllText(Path.Combine(root, "sbin/podvisor-guest-init"), guestInit);
        File.SetUnixFileMode(Path.Combine(root, "sbin/podvisor-guest-init"), (UnixFileMode)0x1ED);
        File.WriteAllText(Path.Combine(root, "etc/cloud/cloud.cfg.d/90-podvisor-test.cfg"), cloudCfg);
        // Neither documentation nor perl's libraries (debconf's, not cloud-init's) are read at boot.
        foreach (string unused in new[] { "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/i18n",
            "usr/share/perl", "usr/lib/x86_64-linux-gnu/perl" })
            if (Directory.Exists(Path.Combine(root, unused))) Directory.Delete(Path.Combine(root, unused), recursive: true);
        // Byte-compile once here with the image's own Python: compiling cloud-init at every boot would cost a
        // minute where every instruction is emulated.
        await ProcessRunner.RunAsync(Path.Combine(root, "usr/bin/python3"),
            ["-m", "compileall", "-q", "-j", "0", "-s", root, "-p", "/", Path.Combine(root, "usr/lib/python3"), .. Directory.GetDirectories(Path.Combine(root, "usr/lib"), "python3.*")],
            cancellationToken: cancellationToken);
        await ProcessRunner.RunAsync("mke2fs", ["-q", "-t", "ext4", "-L", "cloudroot", "-d", root, Path.Combine(work, "root.img"), $"{RootDiskBytes >> 20}M"],
            cancellationToken: cancellationToken);
    }

    private static string Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"CloudGuest/{name}")
            ?? throw new InvalidOperationException($"CloudGuest/{name} is not embedded");
        return new StreamReader(stream).ReadToEnd();
    }
}
