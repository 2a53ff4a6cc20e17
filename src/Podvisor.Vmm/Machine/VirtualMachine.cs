using System.Diagnostics;
using Podvisor.Kvm;
using Podvisor.Vmm.Acpi;
using Podvisor.Vmm.Boot;
using Podvisor.Vmm.Cpu;
using Podvisor.Vmm.Devices;
using Podvisor.Vmm.Devices.Acpi;
using Podvisor.Vmm.Diagnostics;
using Podvisor.Vmm.Devices.Legacy;
using Podvisor.Vmm.Devices.Serial;
using Podvisor.Vmm.Devices.Virtio.Balloon;
using Podvisor.Vmm.Devices.Virtio.Block;
using Podvisor.Vmm.Devices.Virtio.Net;
using Podvisor.Vmm.Devices.Virtio.Rng;
using Podvisor.Vmm.Devices.Virtio.Vsock;
using Podvisor.Vmm.Virtio;
using Podvisor.Vmm.Memory;
using Podvisor.Vmm.Migration;

namespace Podvisor.Vmm.Machine;

/// <summary>
/// A microVM: guest RAM, the in-kernel irqchip and PIT, a serial console, an i8042 (for reset), a CMOS
/// clock, MP and ACPI tables with hardware-reduced power management (poweroff, reset), and one dedicated
/// OS thread per vCPU. Lifecycle: Created → Running ⇄ Paused → Stopped; <see cref="Stopped"/> says why.
/// </summary>
public sealed partial class VirtualMachine : IDisposable
{
    public const ushort Com1Port = 0x3f8, I8042Port = 0x60, CmosPort = 0x70, BootTimerPort = 0x440, AcpiPmPort = 0x600;
    public const uint Com1Irq = 4, KeyboardIrq = 1;
    private const uint TssAddress = 0xfffb_d000;

    private readonly Kvm.Kvm _kvm;
    /// <summary>Pause and resume as whole operations: a resume never lands between a pause's state change and its devices
    /// and clocks standing still. Stop does not take it (it ends a pause's wait instead).</summary>
    private readonly Lock _pauseResumeLock = new();
    private readonly Vm _vm;
    private readonly GuestRam _ram;
    private readonly List<Vcpu> _vcpus = [];
    private readonly List<Thread> _threads = [];
    private readonly PortIoBus _portIo = new();
    private readonly MmioBus _mmio = new();
    private readonly List<VirtioDeviceHost> _virtio = [];
    private readonly Lock _stateLock = new();
    private readonly ManualResetEventSlim _resumeGate = new(true);
    private readonly ManualResetEventSlim _startGate = new(false);
    /// <summary>Set by <see cref="HandOver"/>: the VM is the migration target's, and stops only as migrated.</summary>
    private string? _handedOver;
    private readonly TaskCompletionSource<VmStopped> _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CountdownEvent? _parked;
    private VmState _state = VmState.Created;
    private readonly AcpiPowerManagement _acpi;
    private readonly I8042 _i8042;
    private readonly CmosRtc _cmos = new();
    private readonly VcpuThrottle _throttle;
    private uint[]? _migratableMsrs;
    /// <summary>Each vCPU's migratable MSRs as created, on a VM made for an incoming migration (until it is restored).</summary>
    private List<Dictionary<uint, ulong>>? _freshMsrs;

    private VirtualMachine(MachineConfig config, Kvm.Kvm kvm, Vm vm, GuestRam ram, Action<byte> consoleOutput)
    {
        Config = config;
        _throttle = new VcpuThrottle(() => _vcpus);
        _kvm = kvm;
        _vm = vm;
        _ram = ram;
        Serial = new Uart8250(consoleOutput, new KvmIrqLine(vm, Com1Irq));
        _portIo.Register(Com1Port, 8, Serial);
        _i8042 = new I8042(new KvmIrqLine(vm, KeyboardIrq), () => Stop(StopReason.GuestReset, "the guest reset the machine through the i8042"));
        _portIo.Register(I8042Port, 5, _i8042);
        _portIo.Register(CmosPort, 2, _cmos);
        _portIo.Register(BootTimerPort, 1, BootTimer);
        _acpi = new AcpiPowerManagement(
            () => Stop(StopReason.GuestPowerOff, "the guest powered off (ACPI S5)"),
            () => Stop(StopReason.GuestReset, "the guest reset the machine through the ACPI reset register"),
            level => vm.SetIrqLine(Fadt.SciIrq, level));
        _portIo.Register(AcpiPmPort, AcpiPorts.Count, _acpi);
    }

    public MachineConfig Config { get; }

    /// <summary>
    /// Asks the guest to shut down: presses the ACPI power button (the guest's ACPI daemon, systemd-logind or
    /// init decides what to do). Returns false when the guest has not enabled the power button event, i.e.
    /// nothing in it would hear the press (the press is still made: the guest may enable it later).
    /// </summary>
    public bool RequestShutdown()
    {
        _acpi.PressPowerButton();
        return _acpi.PowerButtonEnabled;
    }

    public Uart8250 Serial { get; }

    /// <summary>Exits taken so far, by reason and port.</summary>
    public ExitStatistics Exits { get; } = new();

    /// <summary>The guest writes 123 to port 0x440 when it has booted; see <see cref="Devices.BootTimer.BootTimer"/>.</summary>
    public Devices.BootTimer.BootTimer BootTimer { get; } = new();

    public GuestRam Memory => _ram;

    public BootSetup? Boot { get; private set; }

    public VmState State
    {
        get { lock (_stateLock) return _state; }
    }

    /// <summary>Completes when the VM has stopped, with the reason.</summary>
    public Task<VmStopped> Stopped => _stopped.Task;

    /// <summary>The virtio devices, in slot order (disks, then rng).</summary>
    public IReadOnlyList<VirtioDeviceHost> VirtioDevices => _virtio;

    private VirtioDeviceHost? BalloonHost => _virtio.FirstOrDefault(d => d.Device is VirtioBalloon);

    /// <summary>The vsock device, if the machine has one.</summary>
    public VirtioVsock? Vsock => _virtio.FirstOrDefault(d => d.Device is VirtioVsock)?.Device as VirtioVsock;

    /// <summary>The balloon, if the machine has one.</summary>
    public VirtioBalloon? Balloon => BalloonHost?.Device as VirtioBalloon;

    /// <summary>Asks the guest to give <paramref name="mib"/> MiB to the balloon (0 deflates it completely).</summary>
    public void SetBalloonTarget(ulong mib)
    {
        var balloon = Balloon ?? throw new InvalidOperationException("this VM has no balloon device");
        if (mib > Config.MemoryMiB) throw new ArgumentException($"the balloon cannot hold {mib} MiB of a {Config.MemoryMiB} MiB guest");
        balloon.SetTarget((uint)(mib << 20 >> VirtioBalloon.PageShift));
    }

    /// <summary>Asks the guest's balloon driver for fresh memory statistics (they arrive in <see cref="VirtioBalloon.Statistics"/>).</summary>
    public void RequestBalloonStatistics()
    {
        var host = BalloonHost ?? throw new InvalidOperationException("this VM has no balloon device");
        host.Transport.RunExclusive(d => ((VirtioBalloon)d).RequestStatistics());
    }

    /// <summary>The kernel command line as booted: the configured one plus the virtio-mmio devices.</summary>
    public string CommandLine { get; private set; } = "";

    /// <summary>MMIO nobody claimed.</summary>
    public long UnclaimedMmioAccesses => _mmio.UnclaimedAccesses;

    /// <summary>Port I/O nobody claimed (absent hardware the guest probed).</summary>
    public long UnclaimedPortAccesses => _portIo.UnclaimedAccesses;

    /// <summary>Builds the VM and loads the kernel; nothing runs until <see cref="Start"/>.</summary>
    /// <param name="kernel">The kernel at <see cref="MachineConfig.KernelPath"/> if the caller has read it already.</param>
    public static VirtualMachine Create(MachineConfig config, Action<byte> consoleOutput, string kvmDevice = "/dev/kvm", KernelImage? kernel = null)
    {
        StartupTrace.Mark("creating the VM");
        config.Validate();
        kernel ??= KernelImage.Load(config.KernelPath);
        var initrd = config.InitrdPath is null ? null : InitrdFile.Open(config.InitrdPath);
        StartupTrace.Mark("kernel and initrd checked");
        return Build(config, consoleOutput, kvmDevice, (kernel, initrd));
    }

    /// <summary>
    /// Builds the VM a live migration arrives in: the same devices and vCPUs as <see cref="Create"/>, nothing
    /// loaded (guest RAM, registers and device state come from the source, see <see cref="RestoreState"/>).
    /// </summary>
    public static VirtualMachine CreateIncoming(MachineConfig config, Action<byte> consoleOutput, string kvmDevice = "/dev/kvm")
    {
        config.Validate();
        return Build(config, consoleOutput, kvmDevice, boot: null);
    }

    private static VirtualMachine Build(MachineConfig config, Action<byte> consoleOutput, string kvmDevice, (KernelImage Kernel, InitrdFile? Initrd)? boot)
    {
        // Disks open before KVM is touched: a disk that cannot be used fails the VM with nothing created.
        var disks = new List<DiskImage>();
        try
        {
            foreach (var disk in config.Disks) disks.Add(DiskImage.Open(disk.Path, disk.ReadOnly));
        }
        catch
        {
            foreach (var d in disks) d.Dispose();
            throw;
        }

        Kvm.Kvm kvm;
        try
        {
            kvm = Kvm.Kvm.Open(kvmDevice);
        }
        catch
        {
            foreach (var d in disks) d.Dispose();
            throw;
        }
        Vm? vm = null;
        GuestRam? ram = null;
        VirtualMachine? machine = null;
        try
        {
            vm = kvm.CreateVm();
            vm.SetTssAddress(TssAddress);
            vm.CreateIrqchip();
            vm.CreatePit2();
            StartupTrace.Mark("KVM VM, irqchip and PIT created");
            ram = new GuestRam(config.MemoryMiB << 20, hugeTlbPageSize: config.HugePageSizeMiB << 20);
            for (int slot = 0; slot < ram.Regions.Count; slot++)
            {
                var region = ram.Regions[slot];
                vm.SetMemorySlot(new MemorySlot((uint)slot, region.Start.Value, ram.Host, region.HostOffset, region.Size));
            }
            machine = new VirtualMachine(config, kvm, vm, ram, consoleOutput);
            StartupTrace.Mark("guest RAM mapped");
            machine.AddVirtioDevices(disks);
            StartupTrace.Mark("virtio devices added");
            if (boot is var (kernel, initrd))
            {
                string commandLine = machine.CommandLine;
                machine.Boot = kernel switch
                {
                    BzImage bzImage => LinuxLoader.Load(ram, bzImage, initrd, commandLine),
                    PvhElfKernel elf => PvhLoader.Load(ram, elf, initrd, commandLine),
                    _ => throw new BootException($"{kernel.Path}: unsupported kernel format"),
                };
                StartupTrace.Mark("kernel, initrd and boot parameters in guest RAM");
                MpTable.Write(ram, config.Cpus);
                AcpiTables.Write(ram, config.Cpus, AcpiPorts.From(AcpiPmPort), [.. Enumerable.Range(0, machine._virtio.Count).Select(MmioLayout.WindowOf)]);
            }
            machine.CreateVcpus();
            StartupTrace.Mark("MP/ACPI tables written, vCPUs created");
            return machine;
        }
        catch
        {
            if (machine is not null) machine.Dispose();
            else
            {
                foreach (var d in disks) d.Dispose();
                ram?.Dispose();
                vm?.Dispose();
                kvm.Dispose();
            }
            throw;
        }
    }

    /// <summary>Makes the configured virtio devices (taking over the open disks), puts each on the MMIO bus
    /// and on the command line. Slot order: disks, interfaces, balloon, vsock, rng.</summary>
    private void AddVirtioDevices(List<DiskImage> disks)
    {
        var devices = new List<(VirtioDevice Device, string Name, IDisposable? Backend)>();
        int hosted = 0;
        try
        {
            while (disks.Count > 0)
            {
                int i = devices.Count;
                var config = Config.Disks[i];
                string id = config.Id ?? $"podvisor-disk{i}";
                VirtioBlock block;
                try
                {
                    block = new VirtioBlock(disks[0], id, config.Io ?? VirtioBlock.DefaultIoMode);
                }
                catch (KvmException) when (config.Io is null)
                {
                    // io_uring refused (a seccomp profile, kernel.io_uring_disabled): the worker pool does as well on a slow disk.
                    block = new VirtioBlock(disks[0], id, BlockIoMode.Threads);
                }
                catch (KvmException e)
                {
                    throw new ArgumentException($"disk {config.Path}: {config.Io} I/O is not available on this host ({e.Message}); choose another I/O mode");
                }
                devices.Add((block, $"virtio-blk{i}", block));
                disks.RemoveAt(0);
            }
            for (int i = 0; i < Config.Networks.Count; i++)
            {
                var net = Config.Networks[i];
                var tap = new TapBackend(OpenTap(net.TapName));
                devices.Add((new VirtioNet(tap, net.Mac ?? MacAddress.Random()), $"virtio-net{i}", tap));
            }
            if (Config.Balloon is { } balloon) devices.Add((new VirtioBalloon(balloon), "virtio-balloon", null));
            if (Config.Vsock is { } vsockConfig)
            {
                var vsock = new VirtioVsock(vsockConfig.GuestCid, vsockConfig.SocketPath);
                devices.Add((vsock, "virtio-vsock", vsock));
            }
            if (Config.Rng) devices.Add((new VirtioRng(), "virtio-rng", null));
            var commandLine = new System.Text.StringBuilder(Config.CommandLine);
            bool onCommandLine = MmioLayout.AcpiOff(Config.CommandLine);
            for (; hosted < devices.Count; hosted++)
            {
                var (device, name, backend) = devices[hosted];
                var host = new VirtioDeviceHost(_vm, _ram, device, hosted, name, e => Stop(StopReason.Error, e.Message), backend);
                _virtio.Add(host);
                _mmio.Register(MmioLayout.BaseOf(hosted), VirtioMmioTransport.WindowSize, host.Transport);
                if (onCommandLine) commandLine.Append(' ').Append(MmioLayout.CommandLineOf(hosted));
            }
            CommandLine = commandLine.ToString();
        }
        catch
        {
            // Device hosts made so far go with the machine; backends not yet handed to one, and disks not yet
            // taken, are released here.
            foreach (var rest in devices.Skip(hosted)) rest.Backend?.Dispose();
            foreach (var disk in disks) disk.Dispose();
            throw;
        }
    }

    private static Tap OpenTap(string name)
    {
        try
        {
            return Tap.Open(name);
        }
        catch (KvmException e) when (e.Errno is Errnos.EPERM or Errnos.EACCES)
        {
            throw new ArgumentException($"tap {name}: creating or attaching a TAP interface needs CAP_NET_ADMIN (or a persistent tap owned by this user): {e.Message}");
        }
        catch (KvmException e) when (e.Errno == Errnos.EBUSY)
        {
            throw new ArgumentException($"tap {name} is in use by another process (or is not a TAP interface): {e.Message}");
        }
    }

    private void CreateVcpus()
    {
        var supported = _kvm.GetSupportedCpuid();
        bool tscDeadline = _vm.CheckExtension(KvmCapability.TscDeadlineTimer) > 0;
        for (uint id = 0; id < Config.Cpus; id++)
        {
            var vcpu = _vm.CreateVcpu(id);
            _vcpus.Add(vcpu);
            vcpu.SetCpuid(CpuidTemplate.ForVcpu(supported, id, (uint)Config.Cpus, withoutXsave: HostCpu.IsQemuTcg, tscDeadline));
            vcpu.SetMsrs(MsrDefaults.Boot());
            // Which MSRs a migration saves: found once here, not during the downtime.
            if (_migratableMsrs is null)
            {
                _migratableMsrs = vcpu.ReadableMsrs(_kvm.GetMsrIndexList());
                _tscDeadlineSaved = _migratableMsrs.Contains(VcpuState.TscDeadlineMsr);
                _tscKhz = _vm.CheckExtension(KvmCapability.GetTscKhz) > 0 ? vcpu.GetTscKhz() : 0;
            }
            var lapic = vcpu.GetLapic();
            lapic.SetRegister(0x350, 0x700);      // LVT LINT0: ExtINT (the PIC's output)
            lapic.SetRegister(0x360, 0x400);      // LVT LINT1: NMI
            vcpu.SetLapic(lapic);
            var fpu = vcpu.GetFpu();
            fpu.Fcw = 0x37f;
            vcpu.SetFpu(fpu);
            if (id == 0 && Boot is not null)
            {
                var sregs = vcpu.GetSregs();
                if (Boot.Protocol == BootProtocol.Pvh)
                {
                    ProtectedMode32.ApplyTo(ref sregs);
                    vcpu.SetSregs(sregs);
                    vcpu.SetRegs(ProtectedMode32.EntryRegisters(Boot));
                }
                else
                {
                    LongMode.ApplyTo(ref sregs);
                    vcpu.SetSregs(sregs);
                    vcpu.SetRegs(LongMode.EntryRegisters(Boot));
                }
            }
            // A migration target writes only the MSRs whose saved value differs from what this fresh vCPU holds: most
            // (machine-check banks, PMU counters, defaults) do not, and the one big KVM_SET_MSRS was the costliest ioctl
            // of the restore inside the emulated host.
            if (Boot is null) (_freshMsrs ??= []).Add(vcpu.GetMsrs(_migratableMsrs).ToDictionary(e => e.Index, e => e.Data));
        }
    }

    public void Start()
    {
        lock (_stateLock)
        {
            Transition(VmState.Created, VmState.Running);
            if (_threads.Count == 0) CreateThreads(devicesPaused: false);
            else foreach (var device in _virtio) device.Resume();
            StartedAt = Stopwatch.GetTimestamp();
            _startGate.Set();
        }
        StartupTrace.Mark("vCPU threads started");
    }

    /// <summary>When <see cref="Start"/> let the guest go (a <see cref="Stopwatch"/> timestamp; 0 before).</summary>
    public long StartedAt { get; private set; }

    /// <summary>
    /// Creates the vCPU and device threads of a VM not yet started, parked until <see cref="Start"/>. A migration target
    /// does this while pages arrive, so that starting the guest at the handover only lets them go: creating them there
    /// cost ~8 ms of the downtime inside the emulated host.
    /// </summary>
    public void PrepareThreads()
    {
        lock (_stateLock)
        {
            if (_state != VmState.Created) throw new InvalidOperationException($"threads are prepared for a VM not yet started, not a {_state} one");
            if (_threads.Count == 0) CreateThreads(devicesPaused: true);
        }
    }

    private void CreateThreads(bool devicesPaused)
    {
        foreach (var device in _virtio)
        {
            if (devicesPaused) device.StartPaused();
            else device.Start();
        }
        foreach (var vcpu in _vcpus)
        {
            var thread = new Thread(() => RunVcpu(vcpu)) { Name = $"vcpu{vcpu.Id}", IsBackground = true };
            _threads.Add(thread);
            thread.Start();
        }
    }

    /// <summary>Stops every vCPU at its next exit and returns once all are parked.</summary>
    public void Pause()
    {
        if (!TryPause()) throw new InvalidOperationException($"cannot go from {State} to {VmState.Paused} (only from {VmState.Running})");
    }

    /// <summary>
    /// Pauses the VM if it runs: every vCPU parked, then the devices and the clocks stood still. False if it was not
    /// running (checked and changed under one lock, as <see cref="TryResume"/> does), or if it stopped before every vCPU
    /// parked — a stop sends vCPU threads home without parking, so the wait ends at whichever comes first.
    /// </summary>
    public bool TryPause()
    {
        lock (_pauseResumeLock)
        {
            CountdownEvent parked;
            lock (_stateLock)
            {
                if (_state != VmState.Running) return false;
                _state = VmState.Paused;
                _resumeGate.Reset();
                parked = _parked = new CountdownEvent(_vcpus.Count);
            }
            foreach (var vcpu in _vcpus) vcpu.Kick();
            _throttle.WakeAll();
            WaitHandle.WaitAny([parked.WaitHandle, ((IAsyncResult)_stopped.Task).AsyncWaitHandle]);
            lock (_stateLock)
            {
                if (_state != VmState.Paused) return false;
            }
            // Then the devices: with nothing running, their state stands still (what a migration saves). The clocks
            // stop here too: they resume from this moment.
            foreach (var device in _virtio) device.Pause();
            _pausedClocks = CaptureClocks();
            return true;
        }
    }

    public void Resume()
    {
        if (!TryResume()) throw new InvalidOperationException($"cannot go from {State} to {VmState.Running} (only from {VmState.Paused})");
    }

    /// <summary>Resumes the VM if it is paused; false if it is not (checked and done under one lock, so a stop in
    /// between cannot make the resume throw).</summary>
    public bool TryResume()
    {
        lock (_pauseResumeLock)
        lock (_stateLock)
        {
            if (_handedOver is not null) throw new InvalidOperationException("the VM was handed over to a migration target: it cannot resume here");
            if (_state != VmState.Paused) return false;
            _state = VmState.Running;
            if (_pausedClocks is { } clocks) RestoreClocks(clocks);
            _pausedClocks = null;
            foreach (var device in _virtio) device.Resume();
            _resumeGate.Set();
            return true;
        }
    }

    /// <summary>Every virtio device's state, in slot order (the VM must be paused: vCPUs and devices still).</summary>
    public IReadOnlyList<VirtioMmioState> SaveDeviceStates()
    {
        lock (_stateLock)
        {
            if (_state != VmState.Paused) throw new InvalidOperationException($"device state is saved from a paused VM, not a {_state} one");
        }
        return [.. _virtio.Select(d => d.Transport.SaveState())];
    }

    /// <summary>Stops the VM (first reason wins). Safe from any thread, including a vCPU's.</summary>
    public void Stop(StopReason reason, string detail)
    {
        lock (_stateLock)
        {
            if (_state == VmState.Stopped) return;
            if (_handedOver is { } migrated) (reason, detail) = (StopReason.Migrated, migrated);
            _state = VmState.Stopped;
            _resumeGate.Set();
            _startGate.Set();
        }
        foreach (var vcpu in _vcpus) vcpu.Kick();
        _throttle.WakeAll();
        _stopped.TrySetResult(new VmStopped(reason, detail));
    }

    private void Transition(VmState from, VmState to)
    {
        if (_state != from) throw new InvalidOperationException($"cannot go from {_state} to {to} (only from {from})");
        _state = to;
    }

    private void RunVcpu(Vcpu vcpu)
    {
        try
        {
            while (true)
            {
                VmState state;
                CountdownEvent? parked;
                lock (_stateLock)
                {
                    state = _state;
                    parked = _parked;
                }
                if (state == VmState.Stopped) return;
                if (state == VmState.Created)
                {
                    _startGate.Wait();        // prepared ahead of Start (PrepareThreads)
                    continue;
                }
                if (state == VmState.Paused)
                {
                    // An exit just handled (port or MMIO input) is completed by the kernel on the next KVM_RUN:
                    // enter once with immediate_exit so the registers a migration saves include it.
                    vcpu.ImmediateExit = true;
                    vcpu.Run();
                    parked?.Signal();
                    _resumeGate.Wait();
                    continue;
                }
                if (!HandleExit(vcpu)) return;
            }
        }
        catch (Exception e)
        {
            Stop(StopReason.Error, $"vCPU {vcpu.Id}: {e.Message}");
        }
    }

    /// <summary>Runs the vCPU to its next exit and handles it; false when the VM must stop.</summary>
    private bool HandleExit(Vcpu vcpu)
    {
        var exit = vcpu.Run();
        switch (exit.Reason)
        {
            case VcpuExitReason.Io:
                var io = exit.Io;
                Exits.Count(VcpuExitReason.Io, io.Port);
                for (int i = 0; i < io.Count; i++)
                {
                    var element = io.Data.Slice(i * io.Size, io.Size);
                    if (io.IsOut) _portIo.Write(io.Port, element);
                    else _portIo.Read(io.Port, element);
                }
                return true;
            case VcpuExitReason.Mmio:
                Exits.Count(VcpuExitReason.Mmio);
                var mmio = exit.Mmio;
                if (mmio.IsWrite) _mmio.Write(mmio.Address, mmio.Data);
                else _mmio.Read(mmio.Address, mmio.Data);
                return true;
            case VcpuExitReason.Intr:
                Exits.Count(exit.Reason);
                _throttle.OnKicked(vcpu, () => State == VmState.Running);
                return true;
            case VcpuExitReason.Hlt or VcpuExitReason.IrqWindowOpen:
                Exits.Count(exit.Reason);
                return true;
            case VcpuExitReason.Shutdown:
                Stop(StopReason.TripleFault, $"vCPU {vcpu.Id} triple-faulted");
                return false;
            case VcpuExitReason.SystemEvent:
                var ev = exit.SystemEvent;
                Stop(ev.Type switch
                {
                    SystemEventType.Shutdown => StopReason.GuestPowerOff,
                    SystemEventType.Reset => StopReason.GuestReset,
                    _ => StopReason.Error,
                }, $"vCPU {vcpu.Id}: system event {ev.Type}");
                return false;
            default:
                Stop(StopReason.Error, $"vCPU {vcpu.Id}: {exit.ToString()}");
                return false;
        }
    }

    public void Dispose()
    {
        Stop(StopReason.HostRequest, "the VM was disposed");
        Serial.CloseInput();            // a console writer waiting for the guest to read returns
        _throttle.Dispose();
        foreach (var thread in _threads) thread.Join();
        foreach (var device in _virtio) device.Dispose();
        foreach (var vcpu in _vcpus) vcpu.Dispose();
        _vm.Dispose();
        _ram.Dispose();
        _kvm.Dispose();
        _resumeGate.Dispose();
        _startGate.Dispose();
    }
}
