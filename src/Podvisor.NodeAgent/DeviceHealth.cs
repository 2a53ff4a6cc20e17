namespace Podvisor.NodeAgent;

/// <summary>
/// Whether a device node is there, looked at every <see cref="Interval"/> (a module unloaded takes /dev/kvm away; the
/// kubelet must stop placing pods that need it). Each change wakes whoever waits in <see cref="WaitForChangeAsync"/>.
/// </summary>
public sealed class DeviceHealth(string path, TimeSpan interval)
{
    public TimeSpan Interval { get; } = interval;
    private readonly Lock _lock = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool Healthy { get; private set; } = Exists(path);

    /// <summary>A path the agent can see (a device node, or in tests a plain file standing in for one).</summary>
    private static bool Exists(string path) => File.Exists(path);

    /// <summary>Looks until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false)) Check();
    }

    public void Check()
    {
        bool now = Exists(path);
        TaskCompletionSource? wake = null;
        lock (_lock)
        {
            if (now == Healthy) return;
            Healthy = now;
            wake = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        wake.SetResult();
    }

    /// <summary>Completes at the next change of <see cref="Healthy"/>.</summary>
    public Task WaitForChangeAsync(CancellationToken cancellationToken)
    {
        lock (_lock) return _changed.Task.WaitAsync(cancellationToken);
    }
}
