namespace Podvisor.Vmm.Devices.Legacy;

/// <summary>
/// The MC146818 CMOS real-time clock behind ports 0x70 (index) and 0x71 (data): the current time in BCD,
/// 24-hour mode, never mid-update, plus 128 bytes of CMOS RAM. The clock is injectable for tests.
/// </summary>
public sealed class CmosRtc(Func<DateTimeOffset>? clock = null) : IPortIoDevice
{
    private const byte Seconds = 0x00, Minutes = 0x02, Hours = 0x04, DayOfWeek = 0x06, DayOfMonth = 0x07, Month = 0x08,
        Year = 0x09, StatusA = 0x0a, StatusB = 0x0b, StatusC = 0x0c, StatusD = 0x0d, Century = 0x32;

    private readonly Func<DateTimeOffset> _clock = clock ?? (() => DateTimeOffset.UtcNow);
    private readonly byte[] _ram = new byte[128];
    private readonly Lock _lock = new();
    private byte _index;

    public void Read(ushort offset, Span<byte> data)
    {
        if (data.Length != 1) { data.Fill(0xff); return; }
        lock (_lock) data[0] = offset == 1 ? Register(_index) : (byte)0xff;
    }

    public void Write(ushort offset, ReadOnlySpan<byte> data)
    {
        if (data.Length != 1) return;
        lock (_lock)
        {
            if (offset == 0) _index = (byte)(data[0] & 0x7f);   // bit 7 is the NMI mask, not part of the index
            else if (offset == 1 && _index > StatusD && _index != Century) _ram[_index] = data[0];
        }
    }

    /// <summary>The index register and CMOS RAM (the time is the host's, on either side of a migration).</summary>
    public CmosState SaveState()
    {
        lock (_lock) return new CmosState(_index, [.. _ram]);
    }

    public void RestoreState(CmosState state)
    {
        if (state.Ram.Length != _ram.Length) throw new ArgumentException($"CMOS RAM of {state.Ram.Length} bytes saved; this one has {_ram.Length}");
        lock (_lock)
        {
            _index = state.Index;
            state.Ram.CopyTo(_ram, 0);
        }
    }

    private static byte Bcd(int value) => (byte)((value / 10 << 4) | (value % 10));

    private byte Register(byte index)
    {
        var now = _clock().ToUniversalTime();
        return index switch
        {
            Seconds => Bcd(now.Second),
            Minutes => Bcd(now.Minute),
            Hours => Bcd(now.Hour),
            DayOfWeek => Bcd((int)now.DayOfWeek + 1),
            DayOfMonth => Bcd(now.Day),
            Month => Bcd(now.Month),
            Year => Bcd(now.Year % 100),
            Century => Bcd(now.Year / 100),
            StatusA => 0x26,          // 32.768 kHz time base, 1024 Hz rate, update-in-progress clear
            StatusB => 0x02,          // 24-hour, BCD, no interrupts
            StatusC => 0x00,
            StatusD => 0x80,          // RAM and time valid
            _ => _ram[index],
        };
    }
}
