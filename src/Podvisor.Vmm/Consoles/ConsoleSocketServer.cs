using System.Net.Sockets;

namespace Podvisor.Vmm.Consoles;

/// <summary>
/// A serial console served on a Unix socket: every connected client receives the guest's output from the
/// moment it connects, and what any client sends is the guest's input. The vCPU thread never waits on a
/// client: output is queued (up to <see cref="MaxPendingBytes"/>, beyond which it is dropped and counted)
/// and one writer thread delivers it; a client that does not read within 5 s is disconnected.
/// </summary>
public sealed class ConsoleSocketServer : IDisposable
{
    public const int MaxPendingBytes = 1 << 20;
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(5);

    private readonly string _path;
    private readonly Socket _listener;
    private readonly Action<ReadOnlyMemory<byte>> _input;
    private readonly Lock _lock = new();
    private readonly List<Socket> _clients = [];
    private readonly AutoResetEvent _outputReady = new(false);
    private List<byte> _pending = new(4096);
    private volatile bool _disposed;

    public const int MaxSocketPathBytes = 107;

    /// <param name="path">Socket path; a stale socket left by a dead VMM is replaced, a live one is an error.</param>
    /// <param name="input">Receives client input (on a client's reader thread).</param>
    public ConsoleSocketServer(string path, Action<ReadOnlyMemory<byte>> input)
    {
        _path = Path.GetFullPath(path);
        _input = input;
        // sun_path holds 108 bytes with the terminating NUL; the endpoint would throw an ArgumentOutOfRangeException.
        if (System.Text.Encoding.UTF8.GetByteCount(_path) is var bytes and > MaxSocketPathBytes)
            throw new IOException($"cannot serve the console on {_path}: a Unix socket path is at most {MaxSocketPathBytes} bytes, this one is {bytes}");
        RemoveStaleSocket(_path);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            _listener.Bind(new UnixDomainSocketEndPoint(_path));
            _listener.Listen(8);
        }
        catch (SocketException e)
        {
            _listener.Dispose();
            throw new IOException($"cannot serve the console on {_path}: {e.Message}", e);
        }
        Start(AcceptLoop, "console-accept");
        Start(WriteLoop, "console-write");
    }

    public string SocketPath => _path;

    public int ClientCount
    {
        get { lock (_lock) return _clients.Count; }
    }

    /// <summary>Output bytes dropped because clients could not keep up.</summary>
    public long DroppedBytes { get; private set; }

    /// <summary>Queues one byte of guest output for every client.</summary>
    public void Write(byte value)
    {
        lock (_lock)
        {
            if (_clients.Count == 0) return;                 // nobody is attached: the byte is not kept
            if (_pending.Count >= MaxPendingBytes)
            {
                DroppedBytes++;
                return;
            }
            _pending.Add(value);
        }
        _outputReady.Set();
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) Write(b);
    }

    private static void RemoveStaleSocket(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) return;
        if (!Kvm.HostFiles.IsUnixSocket(path)) throw new IOException($"{path} exists and is not a socket; choose another path");
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            File.Delete(path);                               // nobody listens: left behind by a VMM that died
            return;
        }
        throw new IOException($"{path} is in use by another console");
    }

    private static void Start(Action loop, string name) => new Thread(() => loop()) { IsBackground = true, Name = name }.Start();

    private void AcceptLoop()
    {
        while (!_disposed)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            client.SendTimeout = (int)SendTimeout.TotalMilliseconds;
            lock (_lock) _clients.Add(client);
            Start(() => ReadLoop(client), "console-read");
        }
    }

    private void ReadLoop(Socket client)
    {
        var buffer = new byte[1024];
        try
        {
            int n;
            while ((n = client.Receive(buffer)) > 0) _input(buffer.AsMemory(0, n).ToArray());
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        Drop(client);
    }

    private void WriteLoop()
    {
        while (true)
        {
            _outputReady.WaitOne();
            if (_disposed) return;
            byte[] chunk;
            Socket[] clients;
            lock (_lock)
            {
                if (_pending.Count == 0) continue;
                chunk = [.. _pending];
                _pending = new List<byte>(4096);
                clients = [.. _clients];
            }
            foreach (var client in clients)
            {
                try
                {
                    client.Send(chunk);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    Drop(client);                            // gone, or too slow to read its console
                }
            }
        }
    }

    private void Drop(Socket client)
    {
        lock (_lock) _clients.Remove(client);
        client.Dispose();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _listener.Dispose();
        _outputReady.Set();
        Socket[] clients;
        lock (_lock) clients = [.. _clients];
        foreach (var client in clients) Drop(client);
        try
        {
            File.Delete(_path);
        }
        catch (IOException) { }
    }
}
