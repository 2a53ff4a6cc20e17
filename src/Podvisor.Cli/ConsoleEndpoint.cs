using Podvisor.Vmm.Consoles;

namespace Podvisor.Cli;

/// <summary>
/// The far end of the guest's serial console for <c>podvisor run</c>: this terminal, a file (output;
/// input still from this terminal), or a Unix socket clients attach to (output and input).
/// </summary>
internal sealed class ConsoleEndpoint : IDisposable
{
    private readonly Stream? _stream;
    private readonly LineBufferedSink? _sink;
    private readonly ConsoleSocketServer? _server;

    private ConsoleEndpoint(Stream? stream, ConsoleSocketServer? server)
    {
        _stream = stream;
        _sink = stream is null ? null : new LineBufferedSink(stream);
        _server = server;
    }

    /// <param name="input">Receives what the user types (from this terminal or a socket client).</param>
    public static ConsoleEndpoint Open(ConsoleTarget target, Action<ReadOnlyMemory<byte>> input)
    {
        switch (target.Kind)
        {
            case ConsoleKind.Socket:
                var server = new ConsoleSocketServer(target.Path!, input);
                Console.Error.WriteLine($"podvisor: serial console on {server.SocketPath} (attach: socat -,raw,echo=0 UNIX-CONNECT:{server.SocketPath})");
                return new ConsoleEndpoint(null, server);
            case ConsoleKind.File:
                var file = new FileStream(target.Path!, FileMode.Append, FileAccess.Write, FileShare.Read);
                StartStdinPump(input);
                return new ConsoleEndpoint(file, null);
            default:
                StartStdinPump(input);
                return new ConsoleEndpoint(Console.OpenStandardOutput(), null);
        }
    }

    public void Write(byte value)
    {
        if (_server is not null) _server.Write(value);
        else _sink!.Write(value);
    }

    public void Flush() => _sink?.Flush();

    /// <summary>Forwards this terminal's input (line by line in a cooked terminal).</summary>
    private static void StartStdinPump(Action<ReadOnlyMemory<byte>> input)
    {
        var thread = new Thread(() =>
        {
            using var stdin = Console.OpenStandardInput();
            var buffer = new byte[256];
            int n;
            while ((n = stdin.Read(buffer)) > 0) input(buffer.AsMemory(0, n).ToArray());
        }) { IsBackground = true, Name = "console-input" };
        thread.Start();
    }

    public void Dispose()
    {
        _sink?.Dispose();
        _stream?.Dispose();
        _server?.Dispose();
    }
}
