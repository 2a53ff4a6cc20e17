namespace Podvisor.Cli;

/// <summary>Collects guest console bytes and writes them out a line at a time (or when 4 KiB pile up),
/// so a chatty guest costs one write per line, not one per byte.</summary>
internal sealed class LineBufferedSink(Stream output) : IDisposable
{
    private readonly byte[] _buffer = new byte[4096];
    private readonly Lock _lock = new();
    private int _length;

    public void Write(byte b)
    {
        lock (_lock)
        {
            _buffer[_length++] = b;
            if (b == (byte)'\n' || _length == _buffer.Length) Flush();
        }
    }

    public void Flush()
    {
        lock (_lock)
        {
            if (_length == 0) return;
            output.Write(_buffer, 0, _length);
            output.Flush();
            _length = 0;
        }
    }

    public void Dispose() => Flush();
}
