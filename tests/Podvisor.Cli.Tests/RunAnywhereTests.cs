namespace Podvisor.Cli.Tests;

/// <summary>
/// <c>podvisor run</c> on whatever KVM this machine has: on kvm_pvm it moves the VM into the emulated KVM
/// host and still carries the console both ways (this terminal's input reaches the guest's shell).
/// </summary>
public sealed class RunAnywhereTests
{
    private static bool KvmIsPvm => Directory.Exists("/sys/module/kvm_pvm");

    [Fact]
    public async Task TheConsoleWorksBothWaysWhereverTheVmRuns()
    {
        string guest = Path.GetFullPath(Path.Combine(Podvisor.RepositoryRoot, "..", "shared", "guest"));
        using var process = Podvisor.Start(trace: true, args: ["run", "--kernel", Path.Combine(guest, "bzImage"), "--initrd", Path.Combine(guest, "initrd-shell.gz"),
            "--cmdline", "console=ttyS0 reboot=k panic=-1 pci=off quiet"]);
        var ct = TestContext.Current.CancellationToken;
        var stderr = process.StandardError.ReadToEndAsync(ct);
        var console = new GuestConsole(process, stderr, ct);
        Task WaitFor(string text) => console.WaitForAsync(text);
        try
        {
            await WaitFor("GUEST-SHELL");
            await WaitFor("\u001b[6n");                                // busybox asks where the cursor is…
            await process.StandardInput.WriteAsync("\u001b[1;1R");     // …and a terminal answers
            await process.StandardInput.WriteAsync("echo typed-$((6*7))\n");
            await process.StandardInput.FlushAsync(ct);
            await WaitFor("typed-42");
            await process.StandardInput.WriteAsync("exit\n");
            await process.StandardInput.FlushAsync(ct);
            await process.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromMinutes(2), ct);
            string errors = await stderr;
            Assert.True(process.ExitCode == 0, errors);
            Assert.Contains("VM stopped: GuestPowerOff", errors);
            if (KvmIsPvm) Assert.Contains("running the VM inside the emulated KVM host", errors);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void HugePageBackedGuestBootsWhereverTheVmRuns()
    {
        // On kvm_pvm the emulated host fills its own huge page pool for the guest; elsewhere the host needs one.
        string guest = Path.GetFullPath(Path.Combine(Podvisor.RepositoryRoot, "..", "shared", "guest"));
        if (!KvmIsPvm && long.Parse(File.ReadAllText("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages").Trim()) < 64)
            Assert.Fail("this host has KVM but fewer than 64 free 2 MiB huge pages; reserve them (nr_hugepages) to run this test");
        var result = Podvisor.Run(["run", "--kernel", Path.Combine(guest, "bzImage"), "--initrd", Path.Combine(guest, "initrd.gz"),
            "--memory", "128", "--hugepages", "2M"], timeout: TimeSpan.FromMinutes(3));
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("GUEST-INIT-OK", result.Stdout);
    }

    [Fact]
    public async Task ADiskIsWritableWhereverTheVmRuns()
    {
        // On kvm_pvm the disk's folder is shared writable into the emulated host; the guest's write must land here.
        string guest = Path.GetFullPath(Path.Combine(Podvisor.RepositoryRoot, "..", "shared", "guest"));
        string dir = Directory.CreateTempSubdirectory("podvisor-run-disk-").FullName;
        try
        {
            string image = Path.Combine(dir, "data.img");
            File.WriteAllBytes(image, new byte[1 << 20]);
            using var process = Podvisor.Start(trace: true, args: ["run", "--kernel", Path.Combine(guest, "bzImage"), "--initrd", Path.Combine(guest, "initrd-shell.gz"),
                "--cmdline", "console=ttyS0 reboot=k panic=-1 pci=off quiet", "--disk", $"{image},id=data-disk", "--rng"]);
            var ct = TestContext.Current.CancellationToken;
            var stderr = process.StandardError.ReadToEndAsync(ct);
            var console = new GuestConsole(process, stderr, ct);
            Task WaitFor(string text) => console.WaitForAsync(text);
            try
            {
                await WaitFor("\u001b[6n");
                await process.StandardInput.WriteAsync("\u001b[1;1R");
                await process.StandardInput.WriteAsync("echo written-by-the-guest | dd of=/dev/vda conv=fsync 2>/dev/null; echo serial-$(cat /sys/block/vda/serial) rng-$(cat /sys/class/misc/hw_random/rng_current)\n");
                await process.StandardInput.FlushAsync(ct);
                await WaitFor("rng-virtio");
                await process.StandardInput.WriteAsync("exit\n");
                await process.StandardInput.FlushAsync(ct);
                await process.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromMinutes(2), ct);
                Assert.True(process.ExitCode == 0, await stderr);
                Assert.Contains("serial-data-disk", console.Text);
                Assert.StartsWith("written-by-the-guest\n", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(image), 0, 64));
            }
            finally
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
