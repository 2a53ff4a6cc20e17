namespace Podvisor.Vmm.Devices;

/// <summary>
/// Routes port I/O to devices by range. Ports nobody claims read as all-ones and swallow writes, as on a
/// real PC bus; they are counted so a guest poking at absent hardware shows up in metrics.
/// </summary>
public sealed class PortIoBus
{
    private readonly List<(ushort Base, ushort Length, IPortIoDevice Device)> _ranges = [];

    public long UnclaimedAccesses { get; private set; }

    public void Register(ushort basePort, ushort length, IPortIoDevice device)
    {
        if (length == 0 || basePort + length > 0x10000) throw new ArgumentOutOfRangeException(nameof(length));
        foreach (var r in _ranges)
        {
            if (basePort < r.Base + r.Length && r.Base < basePort + length)
                throw new ArgumentException($"ports 0x{basePort:x}+{length} overlap 0x{r.Base:x}+{r.Length}");
        }
        _ranges.Add((basePort, length, device));
    }

    private bool TryFind(ushort port, out IPortIoDevice device, out ushort offset)
    {
        foreach (var r in _ranges)
        {
            if (port >= r.Base && port < r.Base + r.Length)
            {
                device = r.Device;
                offset = (ushort)(port - r.Base);
                return true;
            }
        }
        device = null!;
        offset = 0;
        return false;
    }

    public void Read(ushort port, Span<byte> data)
    {
        if (TryFind(port, out var device, out ushort offset)) device.Read(offset, data);
        else
        {
            UnclaimedAccesses++;
            data.Fill(0xff);
        }
    }

    public void Write(ushort port, ReadOnlySpan<byte> data)
    {
        if (TryFind(port, out var device, out ushort offset)) device.Write(offset, data);
        else UnclaimedAccesses++;
    }
}
