using Podvisor.Kvm;

namespace Podvisor.Vmm.Machine;

/// <summary>
/// Holds vCPUs out of the guest for a share of the time (QEMU's cpu-throttle): while a percentage is set, a
/// thread kicks every vCPU once per time slice, and each kicked vCPU sleeps pct/(100−pct) of a slice before
/// it re-enters. A guest spinning without exits is slowed too, which is the point: auto-converge for a
/// migration that cannot keep up with the guest's writes.
/// </summary>
public sealed class VcpuThrottle(Func<IReadOnlyList<Vcpu>> vcpus) : IDisposable
{
    public static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(10);

    private readonly Lock _lock = new();
    private readonly object _sleepers = new();
    private Thread? _kicker;
    private volatile int _percent;
    private volatile bool _disposed;

    public int Percent
    {
        get => _percent;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 99);
            lock (_lock)
            {
                _percent = value;
                if (value == 0) WakeAll();
                if (value > 0 && _kicker is null && !_disposed)
                {
                    _kicker = new Thread(Kick) { Name = "vcpu-throttle", IsBackground = true };
                    _kicker.Start();
                }
            }
        }
    }

    private void Kick()
    {
        while (!_disposed)
        {
            Thread.Sleep(Slice);
            if (_percent == 0) continue;
            foreach (var vcpu in vcpus()) vcpu.Kick();
        }
    }

    /// <summary>
    /// Called by a vCPU thread after a kick: sleeps its share of the slice while throttled, then drops the
    /// kicks that came meanwhile so the guest gets its slice. (A pause or stop is not lost: the vCPU loop
    /// checks the VM's state before it re-enters.)
    /// </summary>
    /// <param name="running">Whether the VM still runs; checked under the lock <see cref="WakeAll"/> takes, so a
    /// pause or stop that comes just before the sleep is not slept through.</param>
    public void OnKicked(Vcpu vcpu, Func<bool> running)
    {
        int percent = _percent;
        if (percent == 0) return;
        lock (_sleepers)
        {
            if (!running()) return;
            Monitor.Wait(_sleepers, Slice * percent / (100 - percent));
        }
        vcpu.ImmediateExit = false;
    }

    /// <summary>Wakes every throttled vCPU now (a pause or stop must not wait out a sleep of up to a second); call after the state changed.</summary>
    public void WakeAll()
    {
        lock (_sleepers) Monitor.PulseAll(_sleepers);
    }

    public void Dispose()
    {
        Thread? kicker;
        lock (_lock)
        {
            _disposed = true;
            _percent = 0;
            kicker = _kicker;
        }
        kicker?.Join();
    }
}
