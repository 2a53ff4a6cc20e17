using Podvisor.Vmm.Migration;

namespace Podvisor.Vmm.Tests.Migration;

/// <summary>
/// The source's side of the link, calling <paramref name="onFrameSent"/> after each frame header of a given type has
/// gone out with its payload (MigrationChannel writes the 5-byte header, then the payload): a test can break the link
/// at an exact point of the protocol.
/// </summary>
internal sealed class FrameWatchingStream(Stream inner, MigrationMessage watched, Action onFrameSent) : WrappingLinkStream(inner)
{
    private bool _payloadDue;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancel = default)
    {
        await Inner.WriteAsync(buffer, cancel);
        if (_payloadDue)
        {
            _payloadDue = false;
            await Inner.FlushAsync(cancel);
            onFrameSent();
        }
        else if (buffer.Length == 5 && buffer.Span[0] == (byte)watched) _payloadDue = true;
    }
}
