namespace Podvisor.Cli.Tests;

/// <summary>The README's main job: <c>podvisor run examples/vm.yaml</c> boots the guest and ends with it (full KVM).</summary>
[Trait("Category", "FullKvm")]
public sealed class ManifestBootTests
{
    [Fact]
    public void TheExampleManifestBootsToInitAndPowersOff()
    {
        var result = Podvisor.Run(["run", "examples/vm.yaml", "--no-emulated-host"], timeout: TimeSpan.FromMinutes(3));
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\nstderr:\n{result.Stderr}\nstdout:\n{result.Stdout}");
        Assert.Contains("GUEST-INIT-OK", result.Stdout);
        Assert.Contains("kernel=6.1.176 cpus=1", result.Stdout);
        Assert.Contains("podvisor: microvm: 1 vCPU, 256 MiB guest memory", result.Stderr);
        Assert.Contains("VM stopped: GuestPowerOff", result.Stderr);
    }
}
