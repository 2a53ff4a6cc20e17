namespace Podvisor.Vmm.Consoles;

/// <summary>Collects guest console bytes and writes them out a line at a time (or when 4 KiB pile up),
/// so a chatty guest costs one write per line, not one per byte. A partial line — a shell prompt, a
/// terminal query — goes out after <see cref="PartialLineDelay"/>, so an interactive guest is never left
/// waiting on a prompt nobody sees.</summary>
public sealed class LineBufferedSink : IDisposable
{
    public static readonly TimeSpan PartialLineDelay = TimeSpan.FromMilliseconds(10);

    private readonly Stream _output;
    private readonly byte[] _buffer = new byte[4096];
    private readonly Lock _lock = new();
    private readonly Timer _partialLine;
    private int _length;

    public LineBufferedSink(Stream output)
    {
        _output = output;
        _partialLine = new Timer(_ => Flush());
    }

    public void Write(byte b)
    {
        lock (_lock)
        {
            if (_length == 0) _partialLine.Change(PartialLineDelay, Timeout.InfiniteTimeSpan);   // armed once per line
            _buffer[_length++] = b;
            if (b == (byte)'\n' || _length == _buffer.Length) Flush();
        }
    }

    public void Flush()
    {
        lock (_lock)
        {
            if (_length == 0) return;
            _output.Write(_buffer, 0, _length);
            _output.Flush();
            _length = 0;
        }
    }

    public void Dispose()
    {
        _partialLine.Dispose();
        Flush();
    }
}
