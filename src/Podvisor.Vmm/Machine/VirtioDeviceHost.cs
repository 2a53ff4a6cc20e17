using Podvisor.Kvm;
using Podvisor.Vmm.Devices;
using Podvisor.Vmm.Memory;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Machine;

/// <summary>
/// One virtio device wired into a KVM VM: its MMIO window on the bus, an ioeventfd per queue (a guest
/// notify wakes this device's I/O thread without a trip through the vCPU's user space), an irqfd for its
/// interrupt, and the I/O thread that does the device's work off the vCPU threads.
/// </summary>
public sealed class VirtioDeviceHost : IDisposable
{
    private readonly Vm _vm;
    private readonly EventFd[] _queueEvents;
    private readonly EventFd _interrupt = new();
    private readonly EventFd _stop = new(nonBlocking: true);
    private readonly Epoll _epoll = new();
    private readonly Thread _thread;
    private readonly Action<Exception> _failed;
    private readonly IDisposable? _backend;
    private readonly Lock _work = new();
    private readonly ManualResetEventSlim _running = new(true);
    private int _disposed;

    /// <param name="failed">Called (on the I/O thread) if the device fails: the VM should stop with the reason.</param>
    /// <param name="backend">Released with the device (its disk image, its tap).</param>
    public VirtioDeviceHost(Vm vm, IGuestMemory memory, VirtioDevice device, int slot, string name, Action<Exception> failed, IDisposable? backend = null)
    {
        _vm = vm;
        _failed = failed;
        _backend = backend;
        Name = name;
        Slot = slot;
        _queueEvents = [.. device.Queues.Select(_ => new EventFd(nonBlocking: true))];
        Transport = new VirtioMmioTransport(device, memory, new IrqfdLine(_interrupt), queue => _queueEvents[queue].Write());
        vm.AddIrqfd(_interrupt, MmioLayout.IrqOf(slot));
        ulong notify = MmioLayout.BaseOf(slot) + MmioRegisters.QueueNotify;
        for (int q = 0; q < _queueEvents.Length; q++)
        {
            vm.AddIoeventfd(_queueEvents[q], notify, 4, datamatch: (ulong)q);
            _epoll.Add(_queueEvents[q].Handle, (ulong)q);
        }
        for (int b = 0; b < device.BackendHandles.Count; b++) _epoll.Add(device.BackendHandles[b], BackendToken + (ulong)b, edgeTriggered: true);
        _epoll.Add(_stop.Handle, StopToken);
        _thread = new Thread(Run) { Name = name, IsBackground = true };
    }

    private const ulong StopToken = ulong.MaxValue, BackendToken = 1UL << 32;

    public string Name { get; }

    public int Slot { get; }

    public VirtioMmioTransport Transport { get; }

    public VirtioDevice Device => Transport.Device;

    public void Start() => _thread.Start();

    /// <summary>Starts the I/O thread paused: what wakes it is handled after <see cref="Resume"/>.</summary>
    public void StartPaused()
    {
        _running.Reset();
        _thread.Start();
    }

    private void Run()
    {
        Span<ulong> ready = stackalloc ulong[16];
        try
        {
            while (true)
            {
                int n = _epoll.Wait(ready);
                _running.Wait();            // paused: what woke us is handled after Resume
                lock (_work)
                {
                    if (!Handle(ready[..n])) return;
                }
            }
        }
        catch (Exception e)
        {
            _failed(new InvalidOperationException($"{Name}: {e.Message}", e));
        }
    }

    /// <summary>Does the work the ready tokens ask for; false when told to stop.</summary>
    private bool Handle(ReadOnlySpan<ulong> ready)
    {
        foreach (ulong token in ready)
        {
            if (token == StopToken) return false;
            if (token >= BackendToken)
            {
                Transport.ProcessBackend((int)(token - BackendToken));
                continue;
            }
            _queueEvents[(int)token].Read();
            Transport.ProcessNotification((int)token);
        }
        return true;
    }

    /// <summary>
    /// Stops the device's work: returns once nothing is in progress, and nothing starts until
    /// <see cref="Resume"/> (guest notifications and backend events wait). With the VM's vCPUs paused too,
    /// the device's state is still and can be saved.
    /// </summary>
    public void Pause()
    {
        _running.Reset();
        lock (_work)
        {
            // Entered once any batch in progress has finished; the thread parks before its next one.
            // Host I/O the batch started (disk reads in the kernel) is waited for and answered here.
            Transport.Quiesce();
        }
    }

    public void Resume() => _running.Set();

    public bool IsPaused => !_running.IsSet;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _running.Set();             // a paused thread must see the stop
        _stop.Write();
        if (_thread.IsAlive) _thread.Join();
        ulong notify = MmioLayout.BaseOf(Slot) + MmioRegisters.QueueNotify;
        for (int q = 0; q < _queueEvents.Length; q++)
        {
            TryUnregister(() => _vm.RemoveIoeventfd(_queueEvents[q], notify, 4, datamatch: (ulong)q));
        }
        TryUnregister(() => _vm.RemoveIrqfd(_interrupt, MmioLayout.IrqOf(Slot)));
        _epoll.Dispose();
        foreach (var e in _queueEvents) e.Dispose();
        _interrupt.Dispose();
        _stop.Dispose();
        _running.Dispose();
        _backend?.Dispose();
    }

    /// <summary>Unregistering fails only if the VM is already gone, which frees them anyway.</summary>
    private static void TryUnregister(Action unregister)
    {
        try
        {
            unregister();
        }
        catch (KvmException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
