namespace Podvisor.Operator.Runtime;

/// <summary>
/// The controllers' queue of object keys ("namespace/name"), with client-go's workqueue semantics:
/// a key waiting in the queue is there once however often it is added; a key is handed to one worker at a
/// time, and an add while it is being processed re-queues it after <see cref="Done"/>; failures come back
/// after an exponential per-key delay (<see cref="AddRateLimited"/>) until <see cref="Forget"/>.
/// </summary>
public sealed class WorkQueue<TKey> : IDisposable where TKey : notnull
{
    private readonly Lock _lock = new();
    private readonly LinkedList<TKey> _queue = new();
    private readonly HashSet<TKey> _dirty = [];        // waiting to be processed (in _queue, or re-queued on Done)
    private readonly HashSet<TKey> _processing = [];
    private readonly Dictionary<TKey, int> _failures = [];
    private readonly SemaphoreSlim _available = new(0);
    private readonly TimeProvider _time;
    private readonly List<ITimer> _timers = [];
    private bool _shutDown;

    public WorkQueue(TimeSpan? baseDelay = null, TimeSpan? maxDelay = null, TimeProvider? time = null)
    {
        BaseDelay = baseDelay ?? TimeSpan.FromMilliseconds(5);
        MaxDelay = maxDelay ?? TimeSpan.FromMinutes(5);
        _time = time ?? TimeProvider.System;
    }

    public TimeSpan BaseDelay { get; }

    public TimeSpan MaxDelay { get; }

    /// <summary>Keys waiting (not counting those being processed).</summary>
    public int Count
    {
        get { lock (_lock) return _queue.Count; }
    }

    public void Add(TKey key)
    {
        lock (_lock)
        {
            if (_shutDown || !_dirty.Add(key)) return;
            if (_processing.Contains(key)) return;        // Done puts it back
            _queue.AddLast(key);
        }
        _available.Release();
    }

    /// <summary>Adds <paramref name="key"/> once <paramref name="delay"/> has passed.</summary>
    public void AddAfter(TKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }
        lock (_lock)
        {
            if (_shutDown) return;
            ITimer? timer = null;
            timer = _time.CreateTimer(_ =>
            {
                lock (_lock) _timers.Remove(timer!);
                timer!.Dispose();
                Add(key);
            }, null, delay, Timeout.InfiniteTimeSpan);
            _timers.Add(timer);
        }
    }

    /// <summary>Adds <paramref name="key"/> after BaseDelay × 2^(failures so far), at most MaxDelay.</summary>
    public void AddRateLimited(TKey key) => AddAfter(key, NextDelay(key));

    /// <summary>The key succeeded: its next failure starts from the base delay again.</summary>
    public void Forget(TKey key)
    {
        lock (_lock) _failures.Remove(key);
    }

    public int Failures(TKey key)
    {
        lock (_lock) return _failures.GetValueOrDefault(key);
    }

    internal TimeSpan NextDelay(TKey key)
    {
        lock (_lock)
        {
            int failures = _failures.GetValueOrDefault(key);
            _failures[key] = failures + 1;
            double ticks = BaseDelay.Ticks * Math.Pow(2, Math.Min(failures, 62));
            return ticks >= MaxDelay.Ticks ? MaxDelay : TimeSpan.FromTicks((long)ticks);
        }
    }

    /// <summary>The next key to process (waits for one); Available is false once the queue is shut down and drained.</summary>
    public async Task<(bool Available, TKey Key)> GetAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            await _available.WaitAsync(cancellationToken);
            lock (_lock)
            {
                if (_queue.First is { } first)
                {
                    _queue.RemoveFirst();
                    _dirty.Remove(first.Value);
                    _processing.Add(first.Value);
                    return (true, first.Value);
                }
                if (_shutDown)
                {
                    _available.Release();               // wake the next waiting worker too
                    return (false, default!);
                }
            }
        }
    }

    /// <summary>The worker is finished with <paramref name="key"/>; if it was added meanwhile, it is queued again.</summary>
    public void Done(TKey key)
    {
        bool requeue;
        lock (_lock)
        {
            _processing.Remove(key);
            requeue = _dirty.Contains(key) && !_shutDown;
            if (requeue) _queue.AddLast(key);
        }
        if (requeue) _available.Release();
    }

    /// <summary>No more adds; workers get the keys already queued, then null.</summary>
    public void ShutDown()
    {
        lock (_lock)
        {
            _shutDown = true;
            foreach (var timer in _timers) timer.Dispose();
            _timers.Clear();
        }
        _available.Release();
    }

    public void Dispose()
    {
        ShutDown();
        _available.Dispose();
    }
}
