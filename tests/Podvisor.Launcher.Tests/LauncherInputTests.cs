using System.Diagnostics;
using Podvisor.Testing;

namespace Podvisor.Launcher.Tests;

/// <summary>A pod whose VMI cannot run: the launcher says why and exits non-zero, leaving nothing behind.</summary>
public sealed class LauncherInputTests : IDisposable
{
    private readonly TestVmi _pod = new();

    public void Dispose() => _pod.Dispose();

    [Fact]
    public void AMissingClaimImageEndsTheLauncherWithTheReason()
    {
        _pod.VolumeFolder("root");
        string spec = Path.Combine(_pod.Root, "spec.json");
        File.WriteAllText(spec, TestVmi.Json("""{ "disks": [ { "name": "root" } ] }""", """[ { "name": "root", "persistentVolumeClaim": { "claimName": "root-pvc" } } ]"""));
        var psi = new ProcessStartInfo(LauncherBinary.Command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in LauncherBinary.Command.Skip(1).Concat(["--spec", spec, "--root", _pod.Root, "--control-port", "0"]))
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        string errors = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)));
        Assert.Equal(2, process.ExitCode);
        Assert.Contains("podvisor-launcher: error: volume root: claim root-pvc holds no disk.img", errors);
        Assert.False(Directory.Exists(Path.GetDirectoryName(_pod.Layout.ConsoleSocket)));
    }
}
