using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Podvisor.Vmm.Migration;

/// <summary>
/// Frames over a byte stream (TCP, TLS): a 4-byte magic-and-version word once from each side, then frames of
/// [type: 1 byte][length: 4 bytes, little endian][payload]. A frame larger than <see cref="MaxFrameBytes"/>, an
/// unknown type or the wrong magic ends the migration with a message saying so.
/// </summary>
public sealed class MigrationChannel(Stream stream) : IAsyncDisposable
{
    /// <summary>"PVM" and the protocol version.</summary>
    public const uint Magic = 0x50564d00 | ProtocolVersion;
    public const int ProtocolVersion = 2;           // 2: the machine state in MachineStateCodec's binary layout
    public const int MaxFrameBytes = 64 << 20;
    private const int HeaderBytes = 5;

    private readonly byte[] _header = new byte[HeaderBytes];
    private byte[] _payload = new byte[PageBatch.MaxBytes];

    public Stream Stream => stream;

    /// <summary>Sends this side's magic and checks the peer's: both speak version <see cref="ProtocolVersion"/>.</summary>
    public async Task HandshakeAsync(CancellationToken cancel)
    {
        var mine = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(mine, Magic);
        await stream.WriteAsync(mine, cancel);
        await stream.FlushAsync(cancel);
        var theirs = new byte[4];
        await ReadExactlyAsync(theirs, "the protocol handshake", cancel);
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(theirs);
        if ((magic & 0xffffff00) != (Magic & 0xffffff00))
            throw new MigrationException($"the peer is not a Podvisor migration endpoint (it sent 0x{magic:x8})");
        if (magic != Magic)
            throw new MigrationException($"the peer speaks migration protocol version {magic & 0xff}, this side {ProtocolVersion}");
    }

    public async Task SendAsync(MigrationMessage type, ReadOnlyMemory<byte> payload, CancellationToken cancel, bool flush = true)
    {
        _header[0] = (byte)type;
        BinaryPrimitives.WriteInt32LittleEndian(_header.AsSpan(1), payload.Length);
        await stream.WriteAsync(_header, cancel);
        if (payload.Length > 0) await stream.WriteAsync(payload, cancel);
        if (flush) await stream.FlushAsync(cancel);
    }

    public Task SendJsonAsync<T>(MigrationMessage type, T value, JsonTypeInfo<T> info, CancellationToken cancel) =>
        SendAsync(type, JsonSerializer.SerializeToUtf8Bytes(value, info), cancel);

    public Task SendAbortAsync(string reason, CancellationToken cancel) =>
        SendAsync(MigrationMessage.Abort, Encoding.UTF8.GetBytes(reason), cancel);

    /// <summary>
    /// The next frame. Its payload is valid until the next receive (the buffer is reused). An
    /// <see cref="MigrationMessage.Abort"/> from the peer is thrown as a <see cref="MigrationException"/>.
    /// </summary>
    public async Task<(MigrationMessage Type, ReadOnlyMemory<byte> Payload)> ReceiveAsync(CancellationToken cancel)
    {
        await ReadExactlyAsync(_header, "the next message", cancel);
        var type = (MigrationMessage)_header[0];
        int length = BinaryPrimitives.ReadInt32LittleEndian(_header.AsSpan(1));
        if (!Enum.IsDefined(type)) throw new MigrationException($"the peer sent an unknown message type {_header[0]}");
        if (length < 0 || length > MaxFrameBytes) throw new MigrationException($"the peer sent a {type} message of {length} bytes (at most {MaxFrameBytes})");
        if (_payload.Length < length) _payload = new byte[length];
        var payload = _payload.AsMemory(0, length);
        await ReadExactlyAsync(payload, $"a {type} message", cancel);
        if (type == MigrationMessage.Abort) throw new MigrationException($"the peer aborted the migration: {Encoding.UTF8.GetString(payload.Span)}");
        return (type, payload);
    }

    /// <summary>The next frame, which must be <paramref name="expected"/>.</summary>
    public async Task<ReadOnlyMemory<byte>> ExpectAsync(MigrationMessage expected, CancellationToken cancel)
    {
        var (type, payload) = await ReceiveAsync(cancel);
        if (type != expected) throw new MigrationException($"expected {expected} from the peer, it sent {type}");
        return payload;
    }

    public static T ParseJson<T>(ReadOnlyMemory<byte> payload, JsonTypeInfo<T> info, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(payload.Span, info) ?? throw new MigrationException($"the peer sent an empty {what}");
        }
        catch (JsonException e)
        {
            throw new MigrationException($"the peer sent a malformed {what}: {e.Message}", e);
        }
    }

    private async Task ReadExactlyAsync(Memory<byte> buffer, string what, CancellationToken cancel)
    {
        try
        {
            await stream.ReadExactlyAsync(buffer, cancel);
        }
        catch (EndOfStreamException e)
        {
            throw new MigrationException($"the peer closed the connection while this side waited for {what}", e);
        }
    }

    public ValueTask DisposeAsync() => stream.DisposeAsync();
}
