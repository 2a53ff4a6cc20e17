using Podvisor.EmulatedHost;
using Podvisor.Testing;

namespace Podvisor.EndToEnd.Tests;

/// <summary>
/// The Debian cloud-init guest the end-to-end test boots, checked where it is built (this machine, before the
/// full-KVM tier runs in the emulated host, which has no network to fetch packages with).
/// </summary>
public sealed class CloudGuestImageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheRootDiskHoldsCloudInitCompiledAndOurInitAndTheInitramfsItsModules()
    {
        var image = await CloudGuestImage.EnsureAsync(Ct);
        Assert.True(File.Exists(image.Kernel));

        string Debugfs(string request) => ProcessRunner.RunAsync("debugfs", ["-R", request, image.RootDisk], cancellationToken: Ct).GetAwaiter().GetResult();
        Assert.Contains("datasource_list: [ NoCloud, None ]", Debugfs("cat /etc/cloud/cloud.cfg.d/90-podvisor-test.cfg"));
        Assert.Contains("stage modules --mode=final", Debugfs("cat /usr/sbin/podvisor-guest-init"));
        Assert.Contains("Mode:  0755", Debugfs("stat /usr/sbin/podvisor-guest-init"));
        Assert.StartsWith("#!/usr/bin/python3", Debugfs("cat /usr/bin/cloud-init"));                      // a Python script…
        Assert.Matches(@"stages\.cpython-3\d+\.pyc", Debugfs("ls /usr/lib/python3/dist-packages/cloudinit/__pycache__"));   // …compiled here
        Assert.Contains("root:*:0:0:root:/root", Debugfs("cat /etc/passwd"));
        Assert.StartsWith("LABEL=cloudroot / ext4", Debugfs("cat /etc/fstab"));
        bool Exists(string path) => Debugfs($"stat {path}").Contains("Inode:", StringComparison.Ordinal);
        foreach (string tool in new[] { "blkid", "mount", "ifup", "dhclient", "ip", "ping", "setsid", "awk" })      // what cloud-init and our init call
            Assert.True(Exists($"/usr/sbin/{tool}") || Exists($"/usr/bin/{tool}"), $"{tool} is not on the root disk");

        string listing = await ProcessRunner.RunAsync("sh", ["-c", "gzip -dc \"$1\" | cpio -t 2>/dev/null", "sh", image.Initrd], cancellationToken: Ct);
        var names = listing.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("init", names);
        Assert.Contains("bin/busybox", names);
        foreach (string module in new[] { "virtio_mmio.ko", "virtio_blk.ko", "virtio_net.ko", "ext4.ko", "isofs.ko", "jbd2.ko", "button.ko" })
            Assert.Contains($"modules/{module}", names);
    }
}
