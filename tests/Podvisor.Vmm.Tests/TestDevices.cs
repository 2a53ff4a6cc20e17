using Podvisor.Vmm.Devices;

namespace Podvisor.Vmm.Tests;

/// <summary>Counts interrupts instead of raising them.</summary>
internal sealed class CountingInterrupt : IInterruptLine
{
    public int Count { get; private set; }

    public void Trigger() => Count++;
}

/// <summary>A level-driven line that counts its rising edges (what an edge-triggered controller would deliver).</summary>
internal sealed class LevelInterrupt : IInterruptLevel
{
    public bool Level { get; private set; }

    public int Count { get; private set; }

    public void Set(bool asserted)
    {
        if (asserted && !Level) Count++;
        Level = asserted;
    }
}

internal static class PortIo
{
    public static byte Read(this IPortIoDevice device, ushort offset)
    {
        Span<byte> b = stackalloc byte[1];
        device.Read(offset, b);
        return b[0];
    }

    public static void Write(this IPortIoDevice device, ushort offset, byte value) => device.Write(offset, [value]);
}
