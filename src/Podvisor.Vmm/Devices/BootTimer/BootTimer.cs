using System.Diagnostics;

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
    private readonly DateTime _processStart;

    public BootTimer(DateTime? processStart = null) => _processStart = processStart ?? Process.GetCurrentProcess().StartTime.ToUniversalTime();

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
        var elapsed = DateTime.UtcNow - _processStart;
        lock (_lock) _marks.Add(elapsed);
        Marked?.Invoke(elapsed);
    }
}
