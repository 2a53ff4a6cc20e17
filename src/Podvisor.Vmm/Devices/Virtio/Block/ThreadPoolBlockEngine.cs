using System.Runtime.InteropServices;
using Podvisor.Kvm;

namespace Podvisor.Vmm.Devices.Virtio.Block;

/// <summary>
/// Runs requests on a few dedicated worker threads (blocking preadv/pwritev/fsync, as QEMU's aio=threads
/// does), so several are in the host at once and the device thread keeps taking new ones. Finished
/// requests wait in a list; an eventfd wakes the device thread to collect them.
/// </summary>
public sealed class ThreadPoolBlockEngine : IBlockIoEngine
{
    public const int DefaultWorkers = 4;

    private readonly DiskImage _disk;
    private readonly Thread[] _workers;
    private readonly object _lock = new();   // Monitor: workers and Drain wait on it
    private readonly Queue<BlockRequest> _pending = new();
    private readonly List<BlockRequest> _finished = [];
    private readonly EventFd _completions = new(nonBlocking: true);
    private int _inFlight;
    private bool _stopping;

    public ThreadPoolBlockEngine(DiskImage disk, string name, int workers = DefaultWorkers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        _disk = disk;
        _workers = new Thread[workers];
        for (int i = 0; i < workers; i++)
        {
            _workers[i] = new Thread(Work) { Name = $"{name}-io{i}", IsBackground = true };
            _workers[i].Start();
        }
    }

    public SafeHandle? Completions => _completions.Handle;

    public int InFlight
    {
        get
        {
            lock (_lock) return _inFlight;
        }
    }

    public void Submit(BlockRequest request)
    {
        lock (_lock)
        {
            _pending.Enqueue(request);
            _inFlight++;
            Monitor.Pulse(_lock);
        }
    }

    public void Kick()
    {
    }

    private void Work()
    {
        while (true)
        {
            BlockRequest request;
            lock (_lock)
            {
                while (_pending.Count == 0 && !_stopping) Monitor.Wait(_lock);
                if (_pending.Count == 0) return;
                request = _pending.Dequeue();
            }
            request.Execute(_disk);
            bool wake;
            lock (_lock)
            {
                wake = _finished.Count == 0;     // one wake-up per batch the device has not collected yet
                _finished.Add(request);
                Monitor.PulseAll(_lock);         // Drain waits on the same lock
            }
            if (wake) _completions.Write();
        }
    }

    public void TakeFinished(List<BlockRequest> finished)
    {
        _completions.Read();
        lock (_lock)
        {
            finished.AddRange(_finished);
            _inFlight -= _finished.Count;
            _finished.Clear();
        }
    }

    public void Drain()
    {
        lock (_lock)
        {
            while (_inFlight > _finished.Count) Monitor.Wait(_lock);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stopping = true;
            Monitor.PulseAll(_lock);
        }
        // Workers finish what was submitted before they stop: nothing is left writing into guest memory.
        foreach (var w in _workers) w.Join();
        _completions.Dispose();
    }
}
