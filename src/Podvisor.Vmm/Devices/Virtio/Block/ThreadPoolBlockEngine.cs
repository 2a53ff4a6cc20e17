using System.Runtime.InteropServices;
using Podvisor.Kvm;

namespace Podvisor.Vmm.Devices.Virtio.Block;

/// <summary>
/// Runs requests on worker threads (blocking preadv/pwritev/fsync, as QEMU's aio=threads does), so several
/// are in the host at once and the device thread keeps taking new ones. A worker is started when a request
/// finds none idle, up to <see cref="MaxWorkers"/> (QEMU's pool size); they stay until the disk goes.
/// Finished requests wait in a list; an eventfd wakes the device thread to collect them.
/// </summary>
public sealed class ThreadPoolBlockEngine : IBlockIoEngine
{
    /// <summary>QEMU's thread pool maximum: a guest with a deep queue on a slow disk keeps this many reads waiting at once.</summary>
    public const int MaxWorkers = 64;

    private readonly DiskImage _disk;
    private readonly string _name;
    private readonly int _maxWorkers;
    private readonly object _lock = new();      // Monitor: Drain waits on it for completions
    private readonly Queue<BlockRequest> _pending = new();
    private readonly List<BlockRequest> _finished = [];
    private readonly List<Thread> _workers = [];
    private readonly SemaphoreSlim _work = new(0);
    private readonly EventFd _completions = new(nonBlocking: true);
    private int _inFlight, _busy;
    private bool _stopping;

    public ThreadPoolBlockEngine(DiskImage disk, string name, int maxWorkers = MaxWorkers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWorkers, 1);
        _disk = disk;
        _name = name;
        _maxWorkers = maxWorkers;
    }

    public SafeHandle? Completions => _completions.Handle;

    public int InFlight
    {
        get
        {
            lock (_lock) return _inFlight;
        }
    }

    /// <summary>Worker threads started so far.</summary>
    public int Workers
    {
        get
        {
            lock (_lock) return _workers.Count;
        }
    }

    public void Submit(BlockRequest request)
    {
        lock (_lock)
        {
            _pending.Enqueue(request);
            _inFlight++;
            // Workers not busy will each take one; start another if they are too few.
            if (_workers.Count - _busy < _pending.Count && _workers.Count < _maxWorkers)
            {
                var worker = new Thread(Work) { Name = $"{_name}-io{_workers.Count}", IsBackground = true };
                _workers.Add(worker);
                worker.Start();
            }
        }
        _work.Release();
    }

    public void Kick()
    {
    }

    private void Work()
    {
        while (true)
        {
            _work.Wait();
            BlockRequest request;
            lock (_lock)
            {
                if (!_pending.TryDequeue(out request!)) return;     // only a stop releases without a request
                _busy++;
            }
            request.Execute(_disk);
            bool wake;
            lock (_lock)
            {
                wake = _finished.Count == 0;     // one wake-up per batch the device has not collected yet
                _finished.Add(request);
                _busy--;
                Monitor.PulseAll(_lock);
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
        Thread[] workers;
        lock (_lock)
        {
            if (_stopping) return;
            _stopping = true;
            workers = [.. _workers];
        }
        // Requests submitted so far are finished first (the queue is FIFO): nothing is left writing into guest memory.
        if (workers.Length > 0) _work.Release(workers.Length);
        foreach (var w in workers) w.Join();
        _completions.Dispose();
        _work.Dispose();
    }
}
