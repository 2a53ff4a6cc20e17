using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using Podvisor.Api.Control;
using Podvisor.Vmm.Machine;
using Podvisor.Vmm.Migration;

namespace Podvisor.Launcher.Migration;

/// <summary>
/// A migration target's side: listens on the migration port, takes the first connection that completes the mutual
/// TLS handshake (anything else that connects is logged and dropped; the listener then closes: one source per
/// target), and receives the VM into a machine made with <see cref="VirtualMachine.CreateIncoming"/>. The VM starts
/// only when the source hands it over. A failure leaves a VM that never ran: the launcher ends.
/// </summary>
public sealed class IncomingMigration : IDisposable
{
    private readonly Lock _lock = new();
    private readonly TcpListener _listener;
    private readonly MigrationTls _tls;
    private readonly string _migrationUid;
    private readonly Action<string> _log;
    private LauncherMigrationStatus _status;

    private IncomingMigration(TcpListener listener, MigrationTls tls, string migrationUid, Action<string> log)
    {
        _listener = listener;
        _tls = tls;
        _migrationUid = migrationUid;
        _log = log;
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _status = new LauncherMigrationStatus(migrationUid, LauncherMigrationStatus.Target, LauncherMigrationPhases.Listening, Port: Port);
    }

    /// <summary>The port listened on (the one asked for, or the system's choice for 0).</summary>
    public int Port { get; }

    public LauncherMigrationStatus Status
    {
        get { lock (_lock) return _status; }
    }

    /// <summary>Listens for the source; <paramref name="tls"/> is this object's from now on.</summary>
    /// <exception cref="LauncherException">The port cannot be listened on.</exception>
    public static IncomingMigration Listen(IPAddress address, int port, MigrationTls tls, string migrationUid, Action<string> log)
    {
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start(backlog: 4);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            tls.Dispose();                         // ours once given
            throw new LauncherException($"cannot listen for the migration on {address}:{port}: {e.Message}");
        }
        return new IncomingMigration(listener, tls, migrationUid, log);
    }

    /// <summary>Receives the VM into <paramref name="vm"/> and starts it there.</summary>
    /// <exception cref="LauncherException">The migration failed (the reason says why); <paramref name="vm"/> never ran.</exception>
    public async Task ReceiveAsync(VirtualMachine vm, MigrationOptions options, CancellationToken cancellationToken)
    {
        System.Diagnostics.Activity? span = null;
        try
        {
            await using var link = await AcceptSourceAsync(cancellationToken);
            var started = DateTimeOffset.UtcNow;
            // From the source's connection on: the time spent listening before it is not the migration's.
            span = MigrationTrace.Start(LauncherTelemetry.Tracing, _migrationUid, "migration receive", System.Diagnostics.ActivityKind.Server);
            Update(s => s with { Phase = LauncherMigrationPhases.Transferring, StartTimestamp = started });
            var received = await MigrationReceiver.RunAsync(vm, link, options, cancellationToken);
            Update(s => s with
            {
                Phase = LauncherMigrationPhases.Completed, EndTimestamp = DateTimeOffset.UtcNow, BytesTransferred = (long)received.Bytes,
                TotalMilliseconds = received.Total.TotalMilliseconds,
            });
            span?.SetTag("podvisor.migration.bytes", (long)received.Bytes);
            span?.SetTag("podvisor.migration.restore_ms", received.RestoreState.TotalMilliseconds);
            _log($"migration {_migrationUid}: the VM arrived ({received.Bytes >> 20} MiB in {received.Total.TotalSeconds:0.00} s, " +
                $"{received.ReceivingPages.TotalSeconds:0.00} s of it reading pages into guest memory; machine state read in " +
                $"{received.ParseState.TotalMilliseconds:0.0} ms, restored in {received.RestoreState.TotalMilliseconds:0.0} ms) and runs here");
        }
        catch (Exception e) when (e is MigrationException or IOException or SocketException or AuthenticationException or OperationCanceledException)
        {
            string reason = e is OperationCanceledException ? "the target was stopped before the VM arrived" : $"receiving the VM failed: {e.Message}";
            Update(s => s with { Phase = LauncherMigrationPhases.Failed, EndTimestamp = DateTimeOffset.UtcNow, FailureReason = reason });
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, reason);
            throw new LauncherException($"migration {_migrationUid}: {reason}");
        }
        finally
        {
            span?.Dispose();
            _listener.Stop();
        }
    }

    private async Task<Stream> AcceptSourceAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var client = await _listener.AcceptTcpClientAsync(cancellationToken);
            client.NoDelay = true;
            var from = client.Client.RemoteEndPoint;      // before a failed handshake disposes the socket
            try
            {
                var link = await _tls.AcceptAsync(client.Client, cancellationToken);
                _listener.Stop();                 // the source is here: nobody else
                return link;
            }
            catch (Exception e) when (e is AuthenticationException or IOException or (OperationCanceledException and not TaskCanceledException)
                                      && !cancellationToken.IsCancellationRequested)
            {
                _log($"migration {_migrationUid}: refused a connection from {from}: {TlsFailure(e)}");
                client.Dispose();
            }
        }
    }

    /// <summary>What a failed handshake says, with the usual cause spelled out.</summary>
    internal static string TlsFailure(Exception e) => e switch
    {
        AuthenticationException => $"mutual TLS failed ({e.Message}; its certificate is not from this migration's CA, or it presented none)",
        OperationCanceledException => $"no TLS handshake within {MigrationTls.HandshakeTimeout.TotalSeconds:0} s",
        _ => e.Message,
    };

    private void Update(Func<LauncherMigrationStatus, LauncherMigrationStatus> change)
    {
        lock (_lock) _status = change(_status);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _tls.Dispose();
    }
}
