using Podvisor.Vmm.Migration;

namespace Podvisor.Vmm.Tests.Migration;

/// <summary>
/// The source's side of the link, calling <paramref name="onFrame"/> when a frame of a given type goes out: after its
/// header and payload have gone (MigrationChannel writes the 5-byte header, then the payload), or with
/// <paramref name="beforeSending"/> just before its header does. A test can break the link at an exact point of the
/// protocol, or look at both VMs while the target waits for that frame.
/// </summary>
internal sealed class FrameWatchingStream(Stream inner, MigrationMessage watched, Action onFrame, bool beforeSending = false) : WrappingLinkStream(inner)
{
    private bool _payloadDue;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancel = default)
    {
        bool isHeader = !_payloadDue && buffer.Length == 5 && buffer.Span[0] == (byte)watched;
        if (isHeader && beforeSending)
        {
            await Inner.FlushAsync(cancel);
            onFrame();
        }
        await Inner.WriteAsync(buffer, cancel);
        if (_payloadDue)
        {
            _payloadDue = false;
            await Inner.FlushAsync(cancel);
            onFrame();
        }
        else if (isHeader && !beforeSending) _payloadDue = true;
    }
}
