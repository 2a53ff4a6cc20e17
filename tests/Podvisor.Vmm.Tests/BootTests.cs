using System.Diagnostics;
using Podvisor.Vmm.Machine;

namespace Podvisor.Vmm.Tests;

/// <summary>Stock Linux kernels boot on our VMM (full, hardware-assisted KVM: the emulated host here).</summary>
[Trait("Category", "FullKvm")]
public sealed class BootTests
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(3);

    private static MachineConfig Microvm => new() { KernelPath = GuestImages.MicrovmKernel, InitrdPath = GuestImages.Initrd };

    private static (VmStopped Stopped, ConsoleCapture Console) Boot(MachineConfig config, Action<VirtualMachine, ConsoleCapture>? whileRunning = null)
    {
        var console = new ConsoleCapture();
        using var vm = VirtualMachine.Create(config, console.Add);
        vm.Start();
        whileRunning?.Invoke(vm, console);
        if (!vm.Stopped.Wait(BootTimeout))
            Assert.Fail($"the guest did not stop within {BootTimeout.TotalMinutes} minutes; console:\n{console.Text}");
        return (vm.Stopped.Result, console);
    }

    [Fact]
    public void MicrovmKernelBootsToInitAndExitsCleanly()
    {
        var (stopped, console) = Boot(Microvm);
        Assert.True(console.Text.Contains("GUEST-INIT-OK", StringComparison.Ordinal), console.Text);
        Assert.Equal("6.1.176", console.Value("kernel="));
        Assert.Equal("1", console.Value("cpus="));
        Assert.Contains("GUEST-EXIT", console.Text);
        Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);   // init's `poweroff -f` through ACPI S5
        Assert.Equal(0, stopped.ExitCode);
    }

    [Fact]
    public void PvhVmlinuxBootsToInitOnTwoVcpus()
    {
        var (stopped, console) = Boot(Microvm with { KernelPath = GuestImages.MicrovmVmlinux, Cpus = 2, CommandLine = MachineConfig.DefaultCommandLine + " quiet" });
        Assert.True(console.Text.Contains("GUEST-INIT-OK", StringComparison.Ordinal), console.Text);
        Assert.Equal("6.1.176", console.Value("kernel="));
        Assert.Equal("2", console.Value("cpus="));
        Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);
    }

    [Fact]
    public void WithoutAcpiTheGuestExitsThroughTheI8042Reset()
    {
        var (stopped, console) = Boot(Microvm with { CommandLine = MachineConfig.DefaultCommandLine + " acpi=off quiet" });
        Assert.Contains("GUEST-EXIT", console.Text);
        Assert.Equal(StopReason.GuestReset, stopped.Reason);
        Assert.Contains("i8042", stopped.Detail);
        Assert.Equal(0, stopped.ExitCode);
    }

    [Fact]
    public void AcpiRebootUsesTheResetRegister()
    {
        var (stopped, console) = Boot(Microvm with { CommandLine = "console=ttyS0 reboot=a panic=-1 pci=off quiet guest.mode=reboot" });
        Assert.Contains("GUEST-EXIT", console.Text);
        Assert.Equal(StopReason.GuestReset, stopped.Reason);
        Assert.Contains("ACPI reset register", stopped.Detail);
    }

    [Fact]
    public void DebianStockKernelBootsToInit()
    {
        var (stopped, console) = Boot(Microvm with
        {
            KernelPath = GuestImages.DebianKernel,
            CommandLine = MachineConfig.DefaultCommandLine + " quiet",
        });
        Assert.True(console.Text.Contains("GUEST-INIT-OK", StringComparison.Ordinal), console.Text);
        Assert.StartsWith("6.1.0-", console.Value("kernel="));
        Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);
    }

    [Fact]
    public void RestartPolicyBootsTheGuestAgainAfterAReset()
    {
        var console = new ConsoleCapture();
        int vms = 0;
        var rebooting = Microvm with { CommandLine = MachineConfig.DefaultCommandLine + " quiet guest.mode=reboot" };
        var stopped = VmRunner.Run(rebooting, console.Add, RebootPolicy.Restart, maxRestarts: 1, onStarted: _ => vms++);
        Assert.Equal(2, vms);
        Assert.Equal(2, console.Text.Split("GUEST-INIT-OK").Length - 1);
        Assert.Equal(StopReason.GuestReset, stopped.Reason);

        var once = new ConsoleCapture();
        VmRunner.Run(rebooting, once.Add, RebootPolicy.Exit);
        Assert.Equal(1, once.Text.Split("GUEST-INIT-OK").Length - 1);
    }

    [Fact]
    public void TwoVcpuGuestReportsTwoCpus()
    {
        var (stopped, console) = Boot(Microvm with { Cpus = 2, CommandLine = MachineConfig.DefaultCommandLine + " quiet" });
        Assert.True(console.Value("cpus=") == "2", console.Text);
        Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);
    }

    [Fact]
    public void TheGuestTimerRunsInTscDeadlineModeWhereKvmEmulatesIt()
    {
        // In one-shot mode each tick Linux stops or restarts around idle costs several APIC register exits; in
        // TSC-deadline mode one MSR write. KVM never reports the CPUID bit itself: the VMM has to offer it.
        bool emulated;
        using (var kvm = Kvm.Kvm.Open()) emulated = kvm.CheckExtension(Kvm.KvmCapability.TscDeadlineTimer) > 0;
        string dir = Directory.CreateTempSubdirectory("podvisor-initrd-").FullName;
        try
        {
            string initrd = GuestImages.InitrdRunning(
                "echo \"GUEST-CLOCKEVENT=$(cat /sys/devices/system/clockevents/clockevent0/current_device)\"\n" +
                "grep -q ' tsc_deadline_timer ' /proc/cpuinfo && echo GUEST-TSC-DEADLINE=yes || echo GUEST-TSC-DEADLINE=no\n", dir);
            var (stopped, console) = Boot(Microvm with { InitrdPath = initrd, CommandLine = MachineConfig.DefaultCommandLine + " quiet" });
            Assert.True(console.Value("GUEST-CLOCKEVENT=") == (emulated ? "lapic-deadline" : "lapic"), console.Text);
            Assert.Equal(emulated ? "yes" : "no", console.Value("GUEST-TSC-DEADLINE="));
            Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TheGuestFindsAKeyboardAndNoMousePortWithoutWaiting()
    {
        // Linux waits 250 ms at boot for a mouse-port interrupt when the AUX loopback looks like it works, and 500 ms
        // per keyboard command whose answer raises no interrupt (one at every power-off): the i8042 answers at once.
        string dir = Directory.CreateTempSubdirectory("podvisor-initrd-").FullName;
        try
        {
            // The keyboard is probed off the boot path (serio's work queue): give it up to 10 s.
            string initrd = GuestImages.InitrdRunning(
                "for i in 1 2 3 4 5 6 7 8 9 10; do dmesg | grep -q 'AT Translated Set 2 keyboard' && break; sleep 1; done\n" +
                "echo \"GUEST-KEYBOARD=$(dmesg | grep -c 'input: AT Translated Set 2 keyboard')\"\n" +
                "echo \"GUEST-AUX-WARNING=$(dmesg | grep -c 'Failed to disable AUX port')\"\n" +
                "echo \"GUEST-AUX-PORT=$(dmesg | grep -c 'serio: i8042 AUX port')\"\n", dir);
            // Not the default command line: its i8042.noaux/dumbkbd (Firecracker's) skip the probes under test.
            var (stopped, console) = Boot(Microvm with { InitrdPath = initrd, CommandLine = "console=ttyS0 reboot=k panic=-1 pci=off quiet" });
            Assert.True(console.Value("GUEST-KEYBOARD=") == "1", console.Text);
            Assert.Equal("0", console.Value("GUEST-AUX-WARNING="));
            Assert.Equal("0", console.Value("GUEST-AUX-PORT="));
            Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void GuestMemoryIsWhatWasAsked()
    {
        var (_, console) = Boot(Microvm with { MemoryMiB = 512, CommandLine = MachineConfig.DefaultCommandLine + " quiet" });
        ulong memTotalKiB = ulong.Parse(console.Value("mem=") ?? throw new Xunit.Sdk.XunitException(console.Text));
        // MemTotal is RAM minus what the kernel keeps for itself (its image, page structures): a few MiB.
        Assert.InRange(memTotalKiB, (512UL - 32) * 1024, 512UL * 1024);
    }

    [Fact]
    public void GuestMemoryAboveFourGiBIsUsable()
    {
        // 4.5 GiB: 3.25 GiB below the MMIO window, the rest from 4 GiB (a second KVM memory slot).
        var (_, console) = Boot(Microvm with { MemoryMiB = 4608, CommandLine = MachineConfig.DefaultCommandLine + " quiet" });
        ulong memTotalKiB = ulong.Parse(console.Value("mem=") ?? throw new Xunit.Sdk.XunitException(console.Text));
        // MemTotal leaves out what the kernel reserves at boot: its page structures (64 bytes per 4 KiB page,
        // 72 MiB here), the 64 MiB swiotlb bounce buffer it sets up once RAM reaches above 4 GiB, its image.
        // Measured: 4446 MiB. Anything above 3328 MiB means RAM above 4 GiB is in use.
        Assert.InRange(memTotalKiB, (4608UL - 256) * 1024, 4608UL * 1024);
    }

    [Fact]
    public void GuestMemoryOnHugeTlbPages()
    {
        // 256 MiB of 2 MiB pages from the host's pool: filled here for the test (and put back after), as an
        // operator would have reserved them on a node meant for such VMs.
        const string pool = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
        long before = long.Parse(File.ReadAllText(pool).Trim());
        File.WriteAllText(pool, (before + 128).ToString());
        try
        {
            var (stopped, console) = Boot(Microvm with { HugePageSizeMiB = 2, CommandLine = MachineConfig.DefaultCommandLine + " quiet" });
            Assert.True(console.Text.Contains("GUEST-INIT-OK", StringComparison.Ordinal), console.Text);
            Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);
        }
        finally
        {
            File.WriteAllText(pool, before.ToString());
        }
    }

    [Fact]
    public void GuestClockIsWithinTwoSecondsOfTheHost()
    {
        string dir = Directory.CreateTempSubdirectory("podvisor-initrd-").FullName;
        try
        {
            string initrd = GuestImages.InitrdRunning("echo \"GUEST-DATE=$(date +%s)\"\n", dir);
            long hostSeconds = 0;
            var (_, console) = Boot(Microvm with { InitrdPath = initrd, CommandLine = MachineConfig.DefaultCommandLine + " quiet" },
                (_, console) =>
                {
                    Assert.True(console.WaitFor("GUEST-DATE=", BootTimeout), console.Text);
                    hostSeconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                });
            long guestSeconds = long.Parse(console.Value("GUEST-DATE=")!);
            Assert.InRange(guestSeconds, hostSeconds - 2, hostSeconds + 2);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void GuestInitReachesTheBootTimer()
    {
        // The microVM kernel has neither /dev/mem nor ioperm, so a user-space boot-timer write needs Debian's
        // kernel; the writer is a tiny static program doing ioperm + outb.
        string dir = Directory.CreateTempSubdirectory("podvisor-boottimer-").FullName;
        try
        {
            string source = Path.Combine(dir, "boottimer.c");
            File.WriteAllText(source, """
                #include <sys/io.h>
                int main(void) { if (ioperm(0x440, 1, 1) != 0) return 1; outb(123, 0x440); return 0; }
                """);
            string binary = Path.Combine(dir, "boottimer");
            using (var gcc = System.Diagnostics.Process.Start("gcc", ["-static", "-O2", "-o", binary, source])!)
            {
                gcc.WaitForExit();
                Assert.Equal(0, gcc.ExitCode);
            }
            string initrd = GuestImages.InitrdRunning("/bin/boottimer; echo \"BOOT-TIMER-RC=$?\"\n", dir, extraFiles: [$"{binary}:/bin/boottimer"]);

            Devices.BootTimer.BootTimer? timer = null;
            var started = DateTime.UtcNow;
            var (_, console) = Boot(Microvm with
            {
                KernelPath = GuestImages.DebianKernel,
                InitrdPath = initrd,
                CommandLine = MachineConfig.DefaultCommandLine + " quiet",
            }, (vm, _) => timer = vm.BootTimer);

            Assert.True(console.Value("BOOT-TIMER-RC=") == "0", console.Text);
            var mark = Assert.Single(timer!.Marks);
            var processStart = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();
            var slack = TimeSpan.FromMilliseconds(50);               // process start times have 10 ms ticks
            Assert.InRange(mark, started - processStart - slack, DateTime.UtcNow - processStart + slack);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SerialInputReachesTheGuestShell()
    {
        var (stopped, console) = Boot(Microvm with { InitrdPath = GuestImages.ShellInitrd, CommandLine = MachineConfig.DefaultCommandLine + " quiet" },
            (vm, console) =>
            {
                Assert.True(console.WaitFor("GUEST-SHELL", BootTimeout), console.Text);
                // Busybox's line editor asks the terminal where the cursor is (ESC[6n) and reads the answer:
                // answer like a terminal, or the first keystrokes are taken for the reply.
                Assert.True(console.WaitFor("\u001b[6n", BootTimeout), console.Text);
                vm.Serial.QueueInput("\u001b[1;1R"u8);
                vm.Serial.QueueInput("echo serial-in-$((6*7))\n"u8);
                if (!console.WaitFor("serial-in-42", BootTimeout))
                {
                    // Is the guest alive and the line lost, or is the guest stuck? Probe: another Enter.
                    long exits = vm.Exits.Total, bytes = console.Bytes;
                    string state = vm.Serial.Describe();
                    vm.Serial.QueueInput("\n"u8);
                    Thread.Sleep(5000);
                    Assert.Fail($"typed line never answered; serial then: {state}; a further Enter gave {console.Bytes - bytes} console bytes " +
                        $"and {vm.Exits.Total - exits} exits in 5 s; serial now: {vm.Serial.Describe()}; exits {vm.Exits.Summary()}; console:\n{console.Text}");
                }
                vm.Serial.QueueInput("exit\n"u8);
            });
        Assert.Contains("GUEST-EXIT", console.Text);
        Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);
    }

    [Fact]
    public void APowerButtonPressReachesTheGuestsAcpiAndItShutsDown()
    {
        string dir = Directory.CreateTempSubdirectory("podvisor-powerbutton-").FullName;
        try
        {
            // The guest's stand-in for acpid: Linux counts fixed events in sysfs; on the first press, power off.
            const string Script = """
                c=/sys/firmware/acpi/interrupts/ff_pwr_btn
                read -r n _ < $c; echo "POWER-BUTTON-WATCH count=$n"
                while read -r n _ < $c && [ "$n" = 0 ]; do sleep 0.1; done
                echo "POWER-BUTTON-PRESSED count=$n"
                """;
            var (stopped, console) = Boot(Microvm with { InitrdPath = GuestImages.InitrdRunning(Script, dir), CommandLine = MachineConfig.DefaultCommandLine + " quiet" },
                (vm, console) =>
                {
                    Assert.True(console.WaitFor("POWER-BUTTON-WATCH count=0", BootTimeout), console.Text);
                    Thread.Sleep(1000);
                    Assert.DoesNotContain("POWER-BUTTON-PRESSED", console.Text);   // the guest waits for us
                    Assert.True(vm.RequestShutdown(), "the guest's ACPI did not enable the power button event");
                });
            Assert.Contains("POWER-BUTTON-PRESSED count=1", console.Text);
            Assert.Contains("GUEST-EXIT", console.Text);
            Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void PausedGuestMakesNoProgressAndResumes()
    {
        var (stopped, console) = Boot(Microvm, (vm, console) =>
        {
            Assert.True(console.WaitFor("Linux version", BootTimeout), console.Text);
            vm.Pause();
            Assert.Equal(VmState.Paused, vm.State);
            long before = console.Bytes;
            Thread.Sleep(1500);
            Assert.Equal(before, console.Bytes);
            vm.Resume();
            Assert.Equal(VmState.Running, vm.State);
        });
        Assert.Contains("GUEST-INIT-OK", console.Text);
        Assert.Equal(StopReason.GuestPowerOff, stopped.Reason);
    }

    [Fact]
    public void HostStopEndsARunningGuest()
    {
        var watch = Stopwatch.StartNew();
        var (stopped, _) = Boot(Microvm, (vm, console) =>
        {
            Assert.True(console.WaitFor("Linux version", BootTimeout), console.Text);
            vm.Stop(StopReason.HostRequest, "test");
        });
        Assert.Equal(StopReason.HostRequest, stopped.Reason);
        Assert.True(watch.Elapsed < BootTimeout);
    }

    [Fact]
    public void LifecycleRefusesTransitionsThatAreNotAllowed()
    {
        using var vm = VirtualMachine.Create(Microvm, _ => { });
        Assert.Throws<InvalidOperationException>(() => vm.Pause());      // not running yet
        Assert.Throws<InvalidOperationException>(() => vm.Resume());
        vm.Start();
        Assert.Throws<InvalidOperationException>(() => vm.Start());
        vm.Stop(StopReason.HostRequest, "test");
        Assert.Equal(VmState.Stopped, vm.State);
        Assert.Throws<InvalidOperationException>(() => vm.Resume());
    }
}
