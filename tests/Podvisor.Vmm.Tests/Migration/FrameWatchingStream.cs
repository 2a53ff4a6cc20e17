using Podvisor.Vmm.Migration;

namespace Podvisor.Vmm.Tests.Migration;

/// <summary>
/// The source's side of the link, calling <paramref name="onFrameSent"/> after each frame header of a given type has
/// gone out with its payload (MigrationChannel writes the 5-byte header, then the payload): a test can break the link
/// at an exact point of the protocol.
/// </summary>
internal sealed class FrameWatchingStream(Stream inner, MigrationMessage watched, Action onFrameSent) : LinkStream
{
    private bool _payloadDue;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancel = default)
    {
        await inner.WriteAsync(buffer, cancel);
        if (_payloadDue)
        {
            _payloadDue = false;
            await inner.FlushAsync(cancel);
            onFrameSent();
        }
        else if (buffer.Length == 5 && buffer.Span[0] == (byte)watched) _payloadDue = true;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancel) => WriteAsync(buffer.AsMemory(offset, count), cancel).AsTask();
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel = default) => inner.ReadAsync(buffer, cancel);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancel) => inner.ReadAsync(buffer, offset, count, cancel);
    public override Task FlushAsync(CancellationToken cancel) => inner.FlushAsync(cancel);
    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, default).GetAwaiter().GetResult();
}
