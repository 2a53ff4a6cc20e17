using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Podvisor.Launcher.Tests;

/// <summary>
/// A loopback TCP relay that carries one connection on to a port at a fixed rate in the source-to-target direction
/// (a slow link between nodes); TLS passes through it end to end untouched.
/// </summary>
internal sealed class ThrottledRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _relay;
    private long _forwarded;

    public ThrottledRelay(int targetPort, double bytesPerSecond)
    {
        _listener.Start();
        _relay = Task.Run(() => RelayAsync(targetPort, bytesPerSecond, _stop.Token));
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Bytes carried towards the target so far.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    private async Task RelayAsync(int targetPort, double bytesPerSecond, CancellationToken cancel)
    {
        try
        {
            using var from = await _listener.AcceptTcpClientAsync(cancel);
            using var to = new TcpClient();
            await to.ConnectAsync(IPAddress.Loopback, targetPort, cancel);
            var upstream = from.GetStream();
            var downstream = to.GetStream();
            var back = downstream.CopyToAsync(upstream, cancel);
            var buffer = new byte[16 * 1024];
            var clock = Stopwatch.StartNew();
            int read;
            while ((read = await upstream.ReadAsync(buffer, cancel)) > 0)
            {
                await downstream.WriteAsync(buffer.AsMemory(0, read), cancel);
                long total = Interlocked.Add(ref _forwarded, read);
                double due = total / bytesPerSecond - clock.Elapsed.TotalSeconds;
                if (due > 0) await Task.Delay(TimeSpan.FromSeconds(due), cancel);
            }
            to.Client.Shutdown(SocketShutdown.Send);
            await back;
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Either end went away: so does the relay.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _relay;
        _stop.Dispose();
    }
}
