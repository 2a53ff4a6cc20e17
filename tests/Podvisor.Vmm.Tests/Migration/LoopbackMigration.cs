using System.Net;
using System.Net.Sockets;
using Podvisor.Vmm.Machine;
using Podvisor.Vmm.Migration;

namespace Podvisor.Vmm.Tests.Migration;

/// <summary>A source VM and a target VM in this process, migrated over a loopback TCP connection.</summary>
internal sealed class LoopbackMigration : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly TcpClient _client = new() { NoDelay = true };
    private TcpClient? _server;

    public LoopbackMigration()
    {
        _listener.Start();
        var accept = _listener.AcceptTcpClientAsync();
        _client.Connect((IPEndPoint)_listener.LocalEndpoint);
        _server = accept.GetAwaiter().GetResult();
        _server.NoDelay = true;
    }

    public Stream SourceLink => _client.GetStream();

    public Stream TargetLink => _server!.GetStream();

    /// <summary>Closes the source's end, as a source launcher that dies does.</summary>
    public void KillSource()
    {
        _client.Client.Close(0);
    }

    /// <summary>Closes the target's end, as a target launcher that dies does.</summary>
    public void KillTarget()
    {
        _server?.Client.Close(0);
    }

    public static Task<MigrationReceiver.Received> ReceiveAsync(VirtualMachine target, Stream link, CancellationToken cancel = default,
        MigrationOptions? options = null) =>
        Task.Run(() => MigrationReceiver.RunAsync(target, link, options ?? new MigrationOptions(), cancel), cancel);

    public void Dispose()
    {
        _client.Dispose();
        _server?.Dispose();
        _listener.Stop();
        _listener.Dispose();
    }
}

/// <summary>
/// The source's side of a link whose far end vanished without closing it (a node lost): once
/// <paramref name="afterBytes"/> have gone, writes never complete and nothing more arrives.
/// </summary>
internal sealed class StallingStream(Stream inner, long afterBytes) : WrappingLinkStream(inner)
{
    private long _written;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancel = default)
    {
        if (_written >= afterBytes) await Task.Delay(Timeout.Infinite, cancel);
        _written += buffer.Length;
        await Inner.WriteAsync(buffer, cancel);
    }
}

/// <summary>Reports progress on the sender's thread, as it happens (Progress&lt;T&gt; would post it later).</summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

/// <summary>
/// A link that carries at most <paramref name="bytesPerSecond"/>: a slow network between nodes.
/// <paramref name="onFirstWrite"/> runs before the first write after the handshake (the first message).
/// </summary>
internal sealed class RateLimitedStream(Stream inner, double bytesPerSecond, Action? onFirstWrite = null) : WrappingLinkStream(inner)
{
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private long _written;
    private int _writes;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancel = default)
    {
        // Writes: the handshake, then each frame's header and payload (Hello's two), then the first page batch.
        if (++_writes == 4) onFirstWrite?.Invoke();
        await Inner.WriteAsync(buffer, cancel);
        _written += buffer.Length;
        var due = TimeSpan.FromSeconds(_written / bytesPerSecond) - _clock.Elapsed;
        if (due > TimeSpan.Zero) await Task.Delay(due, cancel);
    }
}

/// <summary>A link over another stream: reads and flushes pass through, every write goes through <see cref="Stream.WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/>,
/// which a subclass overrides to shape or watch the traffic.</summary>
internal abstract class WrappingLinkStream(Stream inner) : LinkStream
{
    /// <summary>The stream carried over.</summary>
    protected Stream Inner => inner;

    public abstract override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancel = default);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancel) =>
        WriteAsync(buffer.AsMemory(offset, count), cancel).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel = default) => inner.ReadAsync(buffer, cancel);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancel) => inner.ReadAsync(buffer, offset, count, cancel);
    public override Task FlushAsync(CancellationToken cancel) => inner.FlushAsync(cancel);
    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, default).GetAwaiter().GetResult();
}

/// <summary>A readable, writable, unseekable stream: what a network link is.</summary>
internal abstract class LinkStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
