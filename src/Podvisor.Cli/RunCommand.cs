using System.CommandLine;
using ManifestException = Podvisor.Api.ManifestException;
using Podvisor.EmulatedHost;
using Podvisor.Kvm;
using Podvisor.Vmm.Boot;
using Podvisor.Vmm.Devices.Virtio.Balloon;
using Podvisor.Vmm.Diagnostics;
using Podvisor.Vmm.Machine;

namespace Podvisor.Cli;

/// <summary>
/// <c>podvisor run</c>: boots a VM locally — from a VirtualMachine manifest or from flags — with its serial
/// console on this terminal, and exits with the VM's exit code. Where /dev/kvm cannot boot stock kernels (kvm_pvm, no VT-x/AMD-V) it says so and runs the
/// VM inside the emulated KVM host, unless told not to.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var manifest = new Argument<string?>("manifest") { Description = "VirtualMachine (or VirtualMachineInstance) manifest, YAML or JSON", Arity = ArgumentArity.ZeroOrOne };
        var kernel = new Option<string?>("--kernel") { Description = "Linux kernel to boot: a bzImage, or an ELF vmlinux with a PVH entry (instead of a manifest)" };
        var initrd = new Option<string?>("--initrd") { Description = "initramfs to load" };
        var cmdline = new Option<string>("--cmdline") { Description = "kernel command line", DefaultValueFactory = _ => MachineConfig.DefaultCommandLine };
        var cpus = new Option<int>("--cpus") { Description = "number of vCPUs", DefaultValueFactory = _ => 1 };
        var memory = new Option<ulong>("--memory") { Description = "guest memory, MiB", DefaultValueFactory = _ => 256 };
        var hugePages = new Option<string?>("--hugepages") { Description = "back guest memory with the host's huge pages: 2M or 1G (default: transparent huge pages)" };
        var noEmulation = new Option<bool>("--no-emulated-host") { Description = "fail instead of using the emulated KVM host when /dev/kvm cannot boot Linux" };
        var dryRun = new Option<bool>("--dry-run") { Description = "check the input and print the machine it describes; boot nothing" };
        var console = new Option<string>("--console") { Description = "the guest's serial console: stdio, file:PATH (output appended; input from this terminal) or socket:PATH (a Unix socket to attach to)", DefaultValueFactory = _ => "stdio" };
        var disks = new Option<string[]>("--disk") { Description = $"a virtio-blk disk (raw image or block device), {DiskArgument.Syntax}; repeat for more (/dev/vda, /dev/vdb, …)", DefaultValueFactory = _ => [] };
        var nets = new Option<string[]>("--net") { Description = $"a virtio-net interface on a host TAP device (created if missing; needs CAP_NET_ADMIN), {NetArgument.Syntax}; repeat for more (eth0, eth1, …)", DefaultValueFactory = _ => [] };
        var balloon = new Option<bool>("--balloon") { Description = "give the guest a virtio-balloon: memory it frees goes back to the host (free page reporting)" };
        var vsock = new Option<string?>("--vsock") { Description = "give the guest a virtio-vsock device: PATH[,cid=N] — host programs connect to the Unix socket PATH and write \"CONNECT port\\n\"; the guest reaches host port P at PATH_P (cid default 3)" };
        var rng = new Option<bool>("--rng") { Description = "give the guest a virtio-rng device fed from the host's getrandom" };
        var onReboot = new Option<RebootPolicy>("--on-reboot") { Description = "what a guest reboot does: Exit (default) or Restart", DefaultValueFactory = _ => RebootPolicy.Exit };

        var command = new Command("run", "Boot a VM on this machine with its serial console on the terminal.")
        {
            manifest, kernel, initrd, cmdline, cpus, memory, hugePages, disks, nets, balloon, vsock, rng, noEmulation, onReboot, dryRun, console,
        };
        command.SetAction(async (parse, ct) =>
        {
            StartupTrace.Mark("command line parsed");
            MachineConfig config;
            KernelImage kernelImage;
            ConsoleTarget consoleTarget;
            string? manifestName = null;
            IReadOnlyList<string> scratch = [];
            try
            {
                try
                {
                    consoleTarget = ConsoleTarget.Parse(parse.GetValue(console)!);
                    if (parse.GetValue(manifest) is { } manifestPath)
                    {
                        var given = new Option[] { kernel, initrd, cmdline, cpus, memory, hugePages, disks, nets, balloon, vsock, rng }.Where(o => parse.GetResult(o) is { Implicit: false }).ToList();
                        if (given.Count > 0)
                            throw new ArgumentException($"the manifest says what to boot; drop {string.Join(", ", given.Select(o => o.Name))} (or the manifest)");
                        (manifestName, config, scratch) = ManifestMachine.Load(manifestPath);
                    }
                    else if (parse.GetValue(kernel) is { } kernelPath)
                    {
                        config = new MachineConfig
                        {
                            KernelPath = Path.GetFullPath(kernelPath),
                            InitrdPath = parse.GetValue(initrd) is { } i ? Path.GetFullPath(i) : null,
                            CommandLine = parse.GetValue(cmdline)!,
                            Cpus = parse.GetValue(cpus),
                            MemoryMiB = parse.GetValue(memory),
                            HugePageSizeMiB = parse.GetValue(hugePages) switch
                            {
                                null => null,
                                "2M" => 2,
                                "1G" => 1024,
                                var other => throw new ArgumentException($"--hugepages {other}: give 2M or 1G"),
                            },
                            Disks = [.. parse.GetValue(disks)!.Select(DiskArgument.Parse)],
                            Networks = [.. parse.GetValue(nets)!.Select(NetArgument.Parse)],
                            Balloon = parse.GetValue(balloon) ? new BalloonOptions() : null,
                            Vsock = parse.GetValue(vsock) is { } v ? VsockArgument.Parse(v) : null,
                            Rng = parse.GetValue(rng),
                        };
                    }
                    else
                    {
                        throw new ArgumentException("give a VirtualMachine manifest (podvisor run vm.yaml) or --kernel");
                    }
                    config.Validate();
                    kernelImage = KernelImage.Load(config.KernelPath);   // "not a kernel" is reported here, before any VM or emulated host exists
                    if (manifestName is not null)
                        Console.Error.WriteLine($"podvisor: {manifestName}: {config.Cpus} vCPU, {config.MemoryMiB} MiB guest memory");
                }
                catch (Exception e) when (e is ArgumentException or BootException or ManifestException)
                {
                    Console.Error.WriteLine($"error: {e.Message}");
                    return 2;
                }
                if (parse.GetValue(dryRun))
                {
                    Console.WriteLine($"kernel:  {config.KernelPath}");
                    Console.WriteLine($"initrd:  {config.InitrdPath ?? "(none)"}");
                    Console.WriteLine($"cmdline: {config.CommandLine}");
                    Console.WriteLine($"cpus:    {config.Cpus}");
                    Console.WriteLine($"memory:  {config.MemoryMiB} MiB{(config.HugePageSizeMiB is { } page ? $" on {page} MiB huge pages" : "")}");
                    foreach (var (disk, i) in config.Disks.Select((d, i) => (d, i)))
                        Console.WriteLine($"disk:    /dev/vd{(char)('a' + i)} {disk.Path}{(disk.ReadOnly ? " (read-only)" : "")}{(disk.Id is { } id ? $" id={id}" : "")}{(disk.Io is { } io ? $" io={DiskArgument.NameOf(io)}" : "")}");
                    foreach (var (net, i) in config.Networks.Select((n, i) => (n, i)))
                        Console.WriteLine($"net:     eth{i} on tap {net.TapName}{(net.Mac is { } mac ? $" mac {mac}" : "")}");
                    if (config.Balloon is { } b)
                        Console.WriteLine($"balloon: virtio-balloon{(b.FreePageReporting ? " with free page reporting" : "")}");
                    if (config.Vsock is { } vs) Console.WriteLine($"vsock:   cid {vs.GuestCid} on {vs.SocketPath}");
                    if (config.Rng) Console.WriteLine("rng:     virtio-rng");
                    Console.WriteLine($"console: {consoleTarget}");
                    return 0;
                }

                StartupTrace.Mark("input checked");
                var backend = KvmBackend.Detect();
                StartupTrace.Mark($"KVM backend: {backend.Describe()}");
                if (!backend.IsHardwareAssisted)
                {
                    if (parse.GetValue(noEmulation))
                    {
                        Console.Error.WriteLine($"error: this host's KVM is {backend.Describe()}; it cannot boot Linux guests.");
                        return 3;
                    }
                    Console.Error.WriteLine($"podvisor: this host's KVM is {backend.Describe()};");
                    Console.Error.WriteLine("podvisor: running the VM inside the emulated KVM host (QEMU TCG + kvm_amd; slow). --no-emulated-host turns this off.");
                    return await RunInEmulatedHostAsync(config, consoleTarget, parse.GetValue(onReboot), ct);
                }
                return RunHere(config, kernelImage, consoleTarget, parse.GetValue(onReboot));
            }
            finally
            {
                ManifestMachine.DeleteScratch(scratch);
            }
        });
        return command;
    }

    private static int RunHere(MachineConfig config, KernelImage kernel, ConsoleTarget consoleTarget, RebootPolicy onReboot)
    {
        VirtualMachine? current = null;
        using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGINT, ctx =>
            {
                ctx.Cancel = true;
                Volatile.Read(ref current)?.Stop(StopReason.HostRequest, "interrupted");
            });
        VmStopped stopped;
        ConsoleEndpoint? endpoint = null;
        try
        {
            endpoint = ConsoleEndpoint.Open(consoleTarget, input => Volatile.Read(ref current)?.Serial.QueueInput(input.Span));
            bool firstByte = true;
            stopped = VmRunner.Run(config, b =>
            {
                if (firstByte)
                {
                    firstByte = false;
                    StartupTrace.Mark("first console byte from the guest");
                }
                endpoint.Write(b);
            }, onReboot, onStarted: vm =>
            {
                vm.BootTimer.Marked += elapsed => Console.Error.WriteLine($"podvisor: guest boot time {elapsed.TotalMilliseconds:0} ms (from VMM start to the guest's boot-timer write)");
                Volatile.Write(ref current, vm);
            }, kernel: kernel);
        }
        catch (Exception e) when (e is ArgumentException or BootException or KvmException or IOException or UnauthorizedAccessException)
        {
            endpoint?.Dispose();
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        endpoint.Dispose();
        if (Volatile.Read(ref current) is { } last) StartupTrace.Mark($"VM stopped; {last.Exits.Summary()}; serial: {last.Serial.Describe()}");
        Console.Error.WriteLine($"podvisor: VM stopped: {stopped.Reason} ({stopped.Detail})");
        return stopped.ExitCode;
    }

    /// <summary>Runs this command again inside the emulated KVM host with the resolved machine; the console
    /// endpoint stays on this machine, fed by the job's output and feeding the job's input.</summary>
    private static async Task<int> RunInEmulatedHostAsync(MachineConfig config, ConsoleTarget consoleTarget, RebootPolicy onReboot, CancellationToken ct)
    {
        if (config.Networks.Count > 0)
        {
            Console.Error.WriteLine("error: --net needs hardware KVM here: a TAP made inside the emulated KVM host would be out of this machine's reach");
            return 2;
        }
        foreach (var disk in config.Disks)
        {
            using var handle = File.OpenHandle(disk.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (HostFiles.IsBlockDevice(handle))
            {
                Console.Error.WriteLine($"error: disk {disk.Path} is a block device; the emulated KVM host sees this machine's files, not its devices: use an image file");
                return 2;
            }
        }
        // Memory for the guest plus the emulated host's own needs.
        int hostMiB = (int)Math.Max(1024, config.MemoryMiB + 768);
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot locate the podvisor executable");
        var args = new List<string> { self, "run", "--no-emulated-host", "--kernel", config.KernelPath, "--cmdline", config.CommandLine,
            "--cpus", config.Cpus.ToString(), "--memory", config.MemoryMiB.ToString(), "--on-reboot", onReboot.ToString() };
        if (config.InitrdPath is not null) args.AddRange(["--initrd", config.InitrdPath]);
        foreach (var disk in config.Disks) args.AddRange(["--disk", DiskArgument.Format(disk)]);
        if (config.Balloon is not null) args.Add("--balloon");
        if (config.Vsock is not null)
        {
            Console.Error.WriteLine("error: --vsock needs hardware KVM here: its socket would live inside the emulated KVM host, out of this machine's reach");
            return 2;
        }
        if (config.Rng) args.Add("--rng");
        // A framework-dependent build runs through the dotnet host; an AOT build is the executable itself.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") args.Insert(1, Path.Combine(AppContext.BaseDirectory, "podvisor.dll"));
        if (config.HugePageSizeMiB is { } hugePageMiB)
        {
            args.AddRange(["--hugepages", hugePageMiB == 2 ? "2M" : "1G"]);
            // The emulated host is ours: fill its huge page pool for this guest first.
            string pool = $"/sys/kernel/mm/hugepages/hugepages-{hugePageMiB * 1024}kB/nr_hugepages";
            args.InsertRange(0, ["/bin/sh", "-c", $"echo {config.MemoryMiB / hugePageMiB} > {pool} && exec \"$@\"", "sh"]);
        }
        // Console input travels: endpoint → this pipe → the job's stdin in the emulated host → the VMM there.
        var input = new System.IO.Pipes.AnonymousPipeServerStream(System.IO.Pipes.PipeDirection.Out);
        var jobStdin = new System.IO.Pipes.AnonymousPipeClientStream(System.IO.Pipes.PipeDirection.In, input.ClientSafePipeHandle);
        ConsoleEndpoint? endpoint = null;
        try
        {
            // The endpoint first: a console socket already in use fails before the emulated host boots.
            endpoint = ConsoleEndpoint.Open(consoleTarget, bytes =>
            {
                try
                {
                    input.Write(bytes.Span);
                    input.Flush();
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException) { }   // the run is over
            });
            await using var host = await EmulatedKvmHost.StartAsync(new EmulatedHostOptions
            {
                MemoryMiB = hostMiB,
                // One vCPU for the emulated host whatever the guest has: with two, L1 sometimes froze
                // waiting for an IPI that the CPU running our guest under emulated SVM never took.
                Cpus = 1,
                // The host's files are visible read-only; folders of disks the guest may write are shared writable.
                WritableShares = [.. config.Disks.Where(d => !d.ReadOnly).Select(d => Path.GetDirectoryName(d.Path)!).Distinct()],
                Log = Console.Error.WriteLine,
            }, ct);
            await using var stdout = new ConsoleOutputStream(endpoint);
            await using var stderr = Console.OpenStandardError();
            return await host.RunAsync(args, stdout, stderr, TimeSpan.FromHours(24), cancellationToken: ct, stdin: jobStdin);
        }
        catch (EmulatedHostException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 125;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        finally
        {
            endpoint?.Dispose();
            // The write end first: the job-input pump then reads end of file and lets go of the read end
            // (disposing a pipe end another thread is reading from waits for that read).
            input.Dispose();
            jobStdin.Dispose();
        }
    }
}
