namespace Podvisor.Vmm.Devices;

/// <summary>
/// Routes guest MMIO exits to devices by address range. Unclaimed addresses read as all-ones and swallow
/// writes (absent hardware), counted so a probing guest shows up in metrics.
/// </summary>
public sealed class MmioBus
{
    private readonly List<(ulong Base, ulong Length, IMmioDevice Device)> _ranges = [];
    private long _unclaimed;

    public long UnclaimedAccesses => Interlocked.Read(ref _unclaimed);

    public void Register(ulong baseAddress, ulong length, IMmioDevice device)
    {
        if (length == 0 || baseAddress > ulong.MaxValue - length) throw new ArgumentOutOfRangeException(nameof(length));
        foreach (var r in _ranges)
        {
            if (baseAddress < r.Base + r.Length && r.Base < baseAddress + length)
                throw new ArgumentException($"MMIO 0x{baseAddress:x}+0x{length:x} overlaps 0x{r.Base:x}+0x{r.Length:x}");
        }
        _ranges.Add((baseAddress, length, device));
    }

    public void Read(ulong address, Span<byte> data)
    {
        if (TryFind(address, data.Length, out var device, out ulong offset)) device.Read(offset, data);
        else
        {
            Interlocked.Increment(ref _unclaimed);
            data.Fill(0xff);
        }
    }

    public void Write(ulong address, ReadOnlySpan<byte> data)
    {
        if (TryFind(address, data.Length, out var device, out ulong offset)) device.Write(offset, data);
        else Interlocked.Increment(ref _unclaimed);
    }

    private bool TryFind(ulong address, int length, out IMmioDevice device, out ulong offset)
    {
        foreach (var r in _ranges)
        {
            if (address >= r.Base && address - r.Base + (ulong)length <= r.Length)
            {
                device = r.Device;
                offset = address - r.Base;
                return true;
            }
        }
        device = null!;
        offset = 0;
        return false;
    }
}
