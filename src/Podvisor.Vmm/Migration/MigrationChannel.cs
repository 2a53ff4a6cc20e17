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
    // 2: the machine state in MachineStateCodec's binary layout; 3: a page batch's words before its data (PageBatch);
    // 4: the devices' own state (balloon, net) binary too; 5: the i8042's keyboard (answer queue, command, scancode set).
    public const int ProtocolVersion = 5;
    public const int MaxFrameBytes = 64 << 20;
    private const int HeaderBytes = 5;

    /// <summary>
    /// Runs of pages at least this long go from guest RAM to the link as they are; shorter ones are gathered in a staging
    /// buffer first. Each write to a TLS stream is a record (and a send) of its own: page by page, scattered dirty pages
    /// would cost a record and a system call each.
    /// </summary>
    private const int DirectWriteBytes = 16 << 10;
    private const int StagingBytes = 64 << 10;

    private readonly byte[] _header = new byte[HeaderBytes];
    private readonly byte[] _staging = new byte[StagingBytes];
    private readonly byte[] _pagesHead = new byte[PageBatch.MaxHeadBytes];
    private readonly ulong[] _pageWords = new ulong[PageBatch.MaxPages];
    private byte[] _payload = new byte[4096];

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

    /// <summary>
    /// Sends a <see cref="MigrationMessage.Pages"/> frame: the batch's words, then the bytes of its data pages read from
    /// guest RAM through <paramref name="ram"/> now (a page the guest writes meanwhile is dirty again and goes in a later
    /// round). Not flushed.
    /// </summary>
    public async Task SendPagesAsync(PageBatch batch, GuestPages ram, CancellationToken cancel)
    {
        _staging[0] = (byte)MigrationMessage.Pages;
        BinaryPrimitives.WriteInt32LittleEndian(_staging.AsSpan(1), batch.PayloadLength);
        batch.WriteHead(_staging.AsSpan(HeaderBytes));
        int staged = HeaderBytes + batch.HeadLength;
        int index = 0;
        while (PageBatch.NextRun(batch.Words, ref index, out var run))
        {
            if (run.Zeros) continue;
            var data = ram(run.FirstPage, run.Pages);
            if (data.Length >= DirectWriteBytes)
            {
                if (staged > 0) await stream.WriteAsync(_staging.AsMemory(0, staged), cancel);
                staged = 0;
                await stream.WriteAsync(data, cancel);
                continue;
            }
            if (staged + data.Length > _staging.Length)
            {
                await stream.WriteAsync(_staging.AsMemory(0, staged), cancel);
                staged = 0;
            }
            data.Span.CopyTo(_staging.AsSpan(staged));
            staged += data.Length;
        }
        if (staged > 0) await stream.WriteAsync(_staging.AsMemory(0, staged), cancel);
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
        var (type, length) = await ReceiveHeaderAsync(cancel);
        return (type, await ReceivePayloadAsync(type, length, cancel));
    }

    /// <summary>The next frame's type and length, checked; its payload follows (<see cref="ReceivePayloadAsync"/>, <see cref="ReceivePagesAsync"/>).</summary>
    public async Task<(MigrationMessage Type, int Length)> ReceiveHeaderAsync(CancellationToken cancel)
    {
        await ReadExactlyAsync(_header, "the next message", cancel);
        var type = (MigrationMessage)_header[0];
        int length = BinaryPrimitives.ReadInt32LittleEndian(_header.AsSpan(1));
        if (!Enum.IsDefined(type)) throw new MigrationException($"the peer sent an unknown message type {_header[0]}");
        if (length < 0 || length > MaxFrameBytes) throw new MigrationException($"the peer sent a {type} message of {length} bytes (at most {MaxFrameBytes})");
        return (type, length);
    }

    /// <summary>The payload of a frame whose header was just received; valid until the next receive.</summary>
    public async Task<ReadOnlyMemory<byte>> ReceivePayloadAsync(MigrationMessage type, int length, CancellationToken cancel)
    {
        if (_payload.Length < length) _payload = new byte[length];
        var payload = _payload.AsMemory(0, length);
        await ReadExactlyAsync(payload, $"a {type} message", cancel);
        if (type == MigrationMessage.Abort) throw new MigrationException($"the peer aborted the migration: {Encoding.UTF8.GetString(payload.Span)}");
        return payload;
    }

    /// <summary>
    /// The payload of a <see cref="MigrationMessage.Pages"/> frame whose header was just received, read into guest RAM
    /// through <paramref name="ram"/>: the words are checked first (every page inside the <paramref name="pageCount"/>
    /// pages of guest memory, the frame's length what they announce), then each run of data is read from the link
    /// straight into its pages. A zero page is written only if it is not zero already: the target's RAM starts as
    /// untouched zeros, and writing them would allocate host memory for nothing (the source sends the pages its balloon
    /// freed as zeros). Returns how many pages the batch held.
    /// </summary>
    public async Task<int> ReceivePagesAsync(int length, ulong pageCount, GuestPages ram, CancellationToken cancel)
    {
        if (length < 4) throw new MigrationException("a Pages message without its count");
        await ReadExactlyAsync(_pagesHead.AsMemory(0, 4), "a Pages message", cancel);
        int count = PageBatch.ParseCount(_pagesHead, length);
        await ReadExactlyAsync(_pagesHead.AsMemory(4, count * 8), "a Pages message", cancel);
        PageBatch.ParseHead(_pagesHead.AsSpan(0, 4 + count * 8), length, pageCount, _pageWords);
        int index = 0;
        while (PageBatch.NextRun(_pageWords.AsSpan(0, count), ref index, out var run))
        {
            var pages = ram(run.FirstPage, run.Pages);
            if (!run.Zeros) await ReadExactlyAsync(pages, "a Pages message", cancel);
            else if (pages.Span.ContainsAnyExcept((byte)0)) pages.Span.Clear();
        }
        return count;
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
