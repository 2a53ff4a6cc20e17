using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Podvisor.Launcher.Network;

/// <summary>
/// Serves <see cref="DhcpServer"/> on the TAP: a UDP socket on port 67 bound to that one interface
/// (SO_BINDTODEVICE), so it hears only the guest and never answers on the pod's network. Replies are broadcast
/// (a client without an address cannot be reached otherwise without writing raw frames), except to a client
/// that already has its address (renewal), which gets a unicast. Remembers the address it acknowledged: the
/// guest's IP the launcher reports.
/// </summary>
public sealed class DhcpResponder : IAsyncDisposable
{
    private const int SolSocket = 1, SoBindToDevice = 25, ServerPort = 67, ClientPort = 68;
    private readonly DhcpServer _server;
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Action<string> _log;
    private volatile IPAddress? _acknowledged;

    private DhcpResponder(DhcpServer server, Socket socket, Action<string> log)
    {
        _server = server;
        _socket = socket;
        _log = log;
        _loop = Task.Run(ServeAsync);
    }

    /// <summary>The address the guest was last given (an ACK sent), or null before that.</summary>
    public IPAddress? AcknowledgedAddress => _acknowledged;

    public static DhcpResponder Start(DhcpServer server, string device, Action<string> log)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.SetRawSocketOption(SolSocket, SoBindToDevice, Encoding.ASCII.GetBytes(device + "\0"));
            socket.EnableBroadcast = true;
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(IPAddress.Any, ServerPort));
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new LauncherException($"cannot serve DHCP to the guest on {device} (UDP port {ServerPort}): {e.Message}");
        }
        return new DhcpResponder(server, socket, log);
    }

    private async Task ServeAsync()
    {
        var buffer = new byte[1500];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                _log($"warning: DHCP receive: {e.Message}");
                continue;
            }
            if (!DhcpMessage.TryParse(buffer.AsSpan(0, received.ReceivedBytes), out var request)) continue;   // not DHCP: the guest's business
            if (_server.Answer(request) is not { } reply) continue;
            bool unicast = !reply.ClientAddress.Equals(IPAddress.Any) && !request.Broadcast && reply.Type != DhcpMessageType.Nak;
            var to = new IPEndPoint(unicast ? reply.ClientAddress : IPAddress.Broadcast, ClientPort);
            try
            {
                await _socket.SendToAsync(reply.ToBytes(), SocketFlags.None, to, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                _log($"warning: DHCP reply to {to}: {e.Message}");
                continue;
            }
            if (reply.Type == DhcpMessageType.Ack && !reply.YourAddress.Equals(IPAddress.Any))
            {
                if (_acknowledged is null) _log($"guest took {reply.YourAddress} by DHCP");
                _acknowledged = reply.YourAddress;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _socket.Dispose();
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
