using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Podvisor.Vmm.Consoles;

namespace Podvisor.Vmm.Tests;

public sealed class ConsoleSocketServerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-console-").FullName;
    private readonly ConcurrentQueue<byte> _input = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string SocketPath => Path.Combine(_dir, "console.sock");

    private static Socket Connect(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 10_000 };
        socket.Connect(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    private static string Receive(Socket socket, int bytes)
    {
        var buffer = new byte[bytes];
        int got = 0;
        while (got < bytes) got += socket.Receive(buffer, got, bytes - got, SocketFlags.None);
        return Encoding.ASCII.GetString(buffer);
    }

    private static void WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            Thread.Sleep(10);
        }
    }

    [Fact]
    public void EveryClientGetsTheOutputAndAnyClientsInputReachesTheGuest()
    {
        using var server = new ConsoleSocketServer(SocketPath, data => { foreach (byte b in data.Span) _input.Enqueue(b); });
        server.Write("before anyone listens\n"u8);                      // not kept: nobody is attached
        using var a = Connect(SocketPath);
        using var b = Connect(SocketPath);
        WaitFor(() => server.ClientCount == 2);
        server.Write("hello\n"u8);
        Assert.Equal("hello\n", Receive(a, 6));
        Assert.Equal("hello\n", Receive(b, 6));

        b.Send("ls\n"u8);
        WaitFor(() => _input.Count == 3);
        Assert.Equal("ls\n", Encoding.ASCII.GetString([.. _input]));
    }

    [Fact]
    public void ADisconnectedClientIsForgotten()
    {
        using var server = new ConsoleSocketServer(SocketPath, _ => { });
        var a = Connect(SocketPath);
        WaitFor(() => server.ClientCount == 1);
        a.Dispose();
        WaitFor(() => server.ClientCount == 0);
        server.Write("x"u8);                                            // no one to send to: no error
    }

    [Fact]
    public void AStaleSocketIsReplacedButALiveOneOrAFileIsNot()
    {
        // Bound but not listening: what a VMM that died leaves (kept open: .NET would unlink it on dispose).
        using var dead = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        dead.Bind(new UnixDomainSocketEndPoint(SocketPath));
        Assert.True(File.Exists(SocketPath));
        using (var server = new ConsoleSocketServer(SocketPath, _ => { }))
        {
            var e = Assert.Throws<IOException>(() => new ConsoleSocketServer(SocketPath, _ => { }));
            Assert.Contains("in use by another console", e.Message);
        }
        Assert.False(File.Exists(SocketPath));                          // removed on dispose

        string file = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(file, "keep me");
        Assert.Contains("exists and is not a socket", Assert.Throws<IOException>(() => new ConsoleSocketServer(file, _ => { })).Message);
        Assert.Equal("keep me", File.ReadAllText(file));
    }

    [Fact]
    public void APathLongerThanASocketTakesIsRefusedSayingSo()
    {
        string deep = Directory.CreateDirectory(Path.Combine(_dir, new string('d', 100))).FullName;
        var e = Assert.Throws<IOException>(() => new ConsoleSocketServer(Path.Combine(deep, "console.sock"), _ => { }));
        Assert.Contains($"a Unix socket path is at most {ConsoleSocketServer.MaxSocketPathBytes} bytes, this one is {deep.Length + 13}", e.Message);
    }
}
