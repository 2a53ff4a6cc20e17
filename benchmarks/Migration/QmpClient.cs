using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Podvisor.Benchmarks.Migration;

/// <summary>QEMU's machine protocol over its Unix socket: the greeting, capabilities, then one command at a time (events skipped).</summary>
internal sealed class QmpClient : IDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly NetworkStream _stream;

    private QmpClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    public static QmpClient Connect(string path, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Connect(new UnixDomainSocketEndPoint(path));
                var client = new QmpClient(socket);
                client._reader.ReadLine();                               // {"QMP": {...}}
                client.Execute("qmp_capabilities");
                return client;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                socket.Dispose();
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>Runs a command; its "return" value, or throws with QEMU's error.</summary>
    public JsonNode? Execute(string command, JsonObject? arguments = null)
    {
        var request = new JsonObject { ["execute"] = command };
        if (arguments is not null) request["arguments"] = arguments;
        _stream.Write(Encoding.UTF8.GetBytes(request.ToJsonString() + "\n"));
        while (true)
        {
            string line = _reader.ReadLine() ?? throw new IOException($"QEMU closed its QMP socket during {command}");
            var answer = JsonNode.Parse(line)!.AsObject();
            if (answer.ContainsKey("event")) continue;
            if (answer["error"] is { } error) throw new InvalidOperationException($"QMP {command}: {error.ToJsonString()}");
            return answer["return"];
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _stream.Dispose();
        _socket.Dispose();
    }
}
