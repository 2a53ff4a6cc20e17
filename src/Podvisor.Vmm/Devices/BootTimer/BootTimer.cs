using Podvisor.Vmm.Diagnostics;

namespace Podvisor.Vmm.Devices.BootTimer;

/// <summary>
/// Firecracker's way of measuring boot from inside the guest: when the guest's init writes the magic byte
/// 123 to this device, the VMM records how long it has been since the VMM process started. Other writes
/// are ignored; reads return 0. Port-mapped here (a root process in the guest reaches it with ioperm),
/// so guests without /dev/mem can use it.
/// </summary>
public sealed class BootTimer : IPortIoDevice
{
    public const byte Magic = 123;

    private readonly Lock _lock = new();
    private readonly List<TimeSpan> _marks = [];
    private readonly Func<TimeSpan> _sinceStart;

    /// <param name="sinceStart">Time since the VMM started (default: since this process started).</param>
    public BootTimer(Func<TimeSpan>? sinceStart = null) => _sinceStart = sinceStart ?? (() => ProcessClock.SinceStart);

    /// <summary>Time from VMM process start to each magic write.</summary>
    public IReadOnlyList<TimeSpan> Marks
    {
        get { lock (_lock) return [.. _marks]; }
    }

    public event Action<TimeSpan>? Marked;

    public void Read(ushort offset, Span<byte> data) => data.Clear();

    public void Write(ushort offset, ReadOnlySpan<byte> data)
    {
        if (offset != 0 || data.Length != 1 || data[0] != Magic) return;
        var elapsed = _sinceStart();
        lock (_lock) _marks.Add(elapsed);
        Marked?.Invoke(elapsed);
    }
}
