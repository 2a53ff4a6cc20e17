using System.Diagnostics;
using System.Text;
using Podvisor.Launcher.CloudInit;

namespace Podvisor.Launcher.Tests;

/// <summary>
/// The Linux kernel's own reader agrees: the NoCloud seed mounts as iso9660 and shows cloud-init's file names.
/// Needs root and the isofs module: it runs with the full-KVM tier, inside the emulated host.
/// </summary>
[Trait("Category", "FullKvm")]
public sealed class NoCloudSeedMountTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-seed-").FullName;

    public void Dispose()
    {
        Run("umount", Path.Combine(_dir, "mnt"));
        Directory.Delete(_dir, recursive: true);
    }

    private static (int Code, string Output) Run(params string[] command)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in command.Skip(1)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }

    [Fact]
    public void TheKernelMountsTheSeedAndSeesCloudInitsFiles()
    {
        var vmi = TestVmi.Parse(TestVmi.Json());
        byte[] seed = NoCloudSeed.Build(vmi, new Api.CloudInitNoCloudSource { UserData = "#cloud-config\nhostname: mounted\n", NetworkData = "version: 2\n" });
        string image = Path.Combine(_dir, "disk.img"), mount = Directory.CreateDirectory(Path.Combine(_dir, "mnt")).FullName;
        File.WriteAllBytes(image, seed);
        var (code, output) = Run("mount", "-t", "iso9660", "-o", "loop,ro", image, mount);
        Assert.True(code == 0, output);
        Assert.Equal(["meta-data", "network-config", "user-data"], Directory.GetFiles(mount).Select(Path.GetFileName).Order());
        Assert.Equal("#cloud-config\nhostname: mounted\n", File.ReadAllText(Path.Combine(mount, "user-data"), Encoding.UTF8));
        Assert.StartsWith($"instance-id: {vmi.Metadata.Uid}\n", File.ReadAllText(Path.Combine(mount, "meta-data")));
        Assert.Equal("version: 2\n", File.ReadAllText(Path.Combine(mount, "network-config")));
    }
}
