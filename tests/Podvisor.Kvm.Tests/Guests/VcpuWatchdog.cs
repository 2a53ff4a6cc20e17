namespace Podvisor.Kvm.Tests.Guests;

/// <summary>Kicks a vCPU out of KVM_RUN when a deadline passes, so a guest that never exits fails its
/// test instead of hanging the run.</summary>
public sealed class VcpuWatchdog : IDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly Timer _timer;
    private volatile bool _fired;

    public VcpuWatchdog(Vcpu vcpu, TimeSpan? timeout = null)
    {
        Timeout = timeout ?? DefaultTimeout;
        _timer = new Timer(_ =>
        {
            _fired = true;
            vcpu.Kick();
        }, null, Timeout, System.Threading.Timeout.InfiniteTimeSpan);
    }

    public TimeSpan Timeout { get; }

    /// <summary>Throws when the deadline passed; call after every Intr exit.</summary>
    public void ThrowIfFired(string what)
    {
        if (_fired) throw new TimeoutException($"{what}: the guest did not exit within {Timeout.TotalSeconds:0} s");
    }

    public void Dispose() => _timer.Dispose();
}
