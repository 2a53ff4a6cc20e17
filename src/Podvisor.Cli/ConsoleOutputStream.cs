namespace Podvisor.Cli;

/// <summary>A write-only stream into a <see cref="ConsoleEndpoint"/>: how the console of a VM running in the
/// emulated KVM host (its job's stdout) reaches the endpoint on this machine.</summary>
internal sealed class ConsoleOutputStream(ConsoleEndpoint endpoint) : Stream
{
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        foreach (byte b in buffer) endpoint.Write(b);
    }

    public override void Flush() => endpoint.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
