using System.Buffers.Binary;

namespace Podvisor.Vmm.Migration;

/// <summary>
/// The payload of <see cref="MigrationMessage.Running"/>: how long the guest had run on the target when it was sent, in
/// microseconds (8 bytes, little endian). The source takes it off what it waited for Running, so the downtime it reports
/// ends when the guest resumed, not when its message got through a busy host.
/// </summary>
public static class RunningReport
{
    public static byte[] Encode(TimeSpan running)
    {
        var payload = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(payload, (long)Math.Max(0, running.TotalMicroseconds));
        return payload;
    }

    public static TimeSpan Decode(ReadOnlyMemory<byte> payload)
    {
        if (payload.Length != 8) throw new MigrationException($"the target's Running report has {payload.Length} bytes, not 8");
        long micros = BinaryPrimitives.ReadInt64LittleEndian(payload.Span);
        if (micros < 0) throw new MigrationException($"the target's Running report says the guest ran {micros} µs");
        return TimeSpan.FromMicroseconds(micros);
    }
}
