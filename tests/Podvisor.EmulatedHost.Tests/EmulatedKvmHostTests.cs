using System.Diagnostics;
using System.Text;

namespace Podvisor.EmulatedHost.Tests;

/// <summary>One emulated KVM host for the class: boot once, then several jobs through the channel.</summary>
public sealed class EmulatedHostFixture : IAsyncLifetime
{
    public string SharedDirectory { get; } = Directory.CreateTempSubdirectory("podvisor-eh-share-").FullName;

    public EmulatedKvmHost Host { get; private set; } = null!;

    public async ValueTask InitializeAsync() =>
        Host = await EmulatedKvmHost.StartAsync(new EmulatedHostOptions { MemoryMiB = 1024, WritableShares = [SharedDirectory] },
            TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        Directory.Delete(SharedDirectory, recursive: true);
    }
}

[Trait("Category", "EmulatedHost")]
public sealed class EmulatedKvmHostTests(EmulatedHostFixture fixture) : IClassFixture<EmulatedHostFixture>
{
    private static async Task<(int Rc, string Out, string Err)> Run(EmulatedKvmHost host, string shell, TimeSpan? timeout = null,
        string? cwd = null)
    {
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        int rc = await host.RunAsync(["/bin/sh", "-c", shell], stdout, stderr, timeout ?? TimeSpan.FromSeconds(120), cwd,
            cancellationToken: TestContext.Current.CancellationToken);
        return (rc, Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray()));
    }

    [Fact]
    public async Task JobsSeeHardwareAssistedKvm()
    {
        var (rc, output, _) = await Run(fixture.Host, "test -c /dev/kvm && test -d /sys/module/kvm_amd && grep -c svm /proc/cpuinfo");
        Assert.Equal(0, rc);
        Assert.True(int.Parse(output.Trim()) >= 1);
    }

    [Fact]
    public async Task TheEmulatedCpuLeavesOutTheStringOperationsTcgRunsByteByByte()
    {
        // ERMS/FSRM make L1's and the guests' kernels and glibc copy with rep movsb, which TCG emulates slowly.
        var (rc, output, _) = await Run(fixture.Host, "grep -m1 '^flags' /proc/cpuinfo");
        Assert.Equal(0, rc);
        string[] flags = output.Split(':', 2)[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("svm", flags);
        Assert.DoesNotContain("erms", flags);
        Assert.DoesNotContain("fsrm", flags);
    }

    [Fact]
    public async Task JobsHaveALoopbackNetwork()
    {
        // IFF_UP (1) | IFF_LOOPBACK (8): a job's servers on 127.0.0.1 are reachable from the job, as on any machine.
        var (rc, output, _) = await Run(fixture.Host, "cat /sys/class/net/lo/flags");
        Assert.Equal(0, rc);
        Assert.Equal(0x9, Convert.ToInt32(output.Trim(), 16) & 0x9);
    }

    [Fact]
    public async Task ExitCodeAndOutputStreamsArePassedBack()
    {
        var (rc, output, error) = await Run(fixture.Host, "echo out-line; echo err-line >&2; printf 'no newline'; exit 42");
        Assert.Equal(42, rc);
        Assert.Equal("out-line\nno newline", output);
        Assert.Equal("err-line\n", error);
    }

    [Fact]
    public async Task JobsRunInTheCallersDirectoryEvenWhenItIsNotShared()
    {
        string unshared = Directory.CreateTempSubdirectory("podvisor-eh-cwd-").FullName;
        try
        {
            var (rc, output, error) = await Run(fixture.Host, "pwd", cwd: unshared);
            Assert.True(rc == 0, error);
            Assert.Equal(unshared + "\n", output);
        }
        finally
        {
            Directory.Delete(unshared);
        }
    }

    [Fact]
    public async Task MissingWorkingDirectoryIsExplained()
    {
        var (rc, _, error) = await Run(fixture.Host, "true", cwd: "/nonexistent/podvisor-dir");
        Assert.Equal(126, rc);
        Assert.Contains("/nonexistent/podvisor-dir is not visible inside the emulated KVM host", error);
    }

    [Fact]
    public async Task SharedDirectoryIsWritableBothWays()
    {
        await File.WriteAllTextAsync(Path.Combine(fixture.SharedDirectory, "from-host"), "hello", TestContext.Current.CancellationToken);
        var (rc, output, error) = await Run(fixture.Host, "cat from-host; echo from-l1 > from-l1", cwd: fixture.SharedDirectory);
        Assert.True(rc == 0, error);
        Assert.Equal("hello", output);
        Assert.Equal("from-l1\n", await File.ReadAllTextAsync(Path.Combine(fixture.SharedDirectory, "from-l1"), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task StandardInputReachesAJobThatAsksForIt()
    {
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        var stdin = new MemoryStream("first line\nsecond\n"u8.ToArray());
        int rc = await fixture.Host.RunAsync(["/bin/sh", "-c", "read -r a; read -r b; echo \"got [$a] [$b]\""], stdout, stderr,
            TimeSpan.FromSeconds(120), cancellationToken: TestContext.Current.CancellationToken, stdin: stdin);
        Assert.True(rc == 0, Encoding.UTF8.GetString(stderr.ToArray()));
        Assert.Equal("got [first line] [second]\n", Encoding.UTF8.GetString(stdout.ToArray()));

        // Without stdin a job reads end of file at once.
        var (rc2, output, _) = await Run(fixture.Host, "if read -r x; then echo read; else echo eof; fi");
        Assert.Equal((0, "eof\n"), (rc2, output));
    }

    [Fact]
    public async Task HostFilesystemOutsideTheSharesIsReadOnlyFromTheHostsView()
    {
        string marker = Path.Combine(Path.GetTempPath(), $"podvisor-not-shared-{Guid.NewGuid():N}");
        var (rc, _, _) = await Run(fixture.Host, $"echo x > {marker} && test -f {marker}");
        Assert.Equal(0, rc);                      // writes land in L1's tmpfs overlay…
        Assert.False(File.Exists(marker));        // …and never reach this machine
    }
}

[Trait("Category", "EmulatedHost")]
public sealed class EmulatedHostWatchdogTests
{
    [Fact]
    public async Task HungJobFailsWithinItsTimeoutAndStopsTheHost()
    {
        await using var host = await EmulatedKvmHost.StartAsync(new EmulatedHostOptions { MemoryMiB = 512, WritableShares = [] },
            TestContext.Current.CancellationToken);
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<EmulatedHostException>(() =>
            host.RunAsync(["/bin/sleep", "600"], Stream.Null, Stream.Null, TimeSpan.FromSeconds(5),
                cancellationToken: TestContext.Current.CancellationToken));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
        Assert.Contains("no answer within 5 s", e.Message);
        Assert.Contains("serial console", e.Message);     // the console log comes with the failure

        var down = await Assert.ThrowsAsync<EmulatedHostException>(() =>
            host.RunAsync(["/bin/true"], Stream.Null, Stream.Null, TimeSpan.FromSeconds(5),
                cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("is down", down.Message);
    }

    [Fact]
    public async Task HungBootFailsWithinTheBootTimeout()
    {
        string fakeQemu = Path.Combine(Directory.CreateTempSubdirectory("podvisor-fake-qemu-").FullName, "qemu");
        await File.WriteAllTextAsync(fakeQemu, "#!/bin/sh\nexec sleep 600\n", TestContext.Current.CancellationToken);
        File.SetUnixFileMode(fakeQemu, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<EmulatedHostException>(() => EmulatedKvmHost.StartAsync(
            new EmulatedHostOptions { QemuBinary = fakeQemu, BootTimeout = TimeSpan.FromSeconds(3), WritableShares = [] },
            TestContext.Current.CancellationToken));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        Assert.Contains("port", e.Message);
        Directory.Delete(Path.GetDirectoryName(fakeQemu)!, recursive: true);
    }

    [Fact]
    public async Task MissingQemuIsExplained()
    {
        var e = await Assert.ThrowsAsync<EmulatedHostException>(() => EmulatedKvmHost.StartAsync(
            new EmulatedHostOptions { QemuBinary = "/nonexistent/qemu-system-x86_64", WritableShares = [] },
            TestContext.Current.CancellationToken));
        Assert.Contains("qemu-system-x86", e.Message);
    }
}
