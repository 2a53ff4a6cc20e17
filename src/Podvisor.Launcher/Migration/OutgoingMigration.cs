using System.Net.Sockets;
using System.Security.Authentication;
using Podvisor.Api.Control;
using Podvisor.Kvm.Tls;
using Podvisor.Vmm.Machine;
using Podvisor.Vmm.Migration;

namespace Podvisor.Launcher.Migration;

/// <summary>
/// A source's side of one migration, asked for with <c>PUT /v1/migrate</c>: connects to the target, authenticates
/// both ways, and runs the pre-copy (<see cref="MigrationSender"/>) while <see cref="Status"/> follows it. Until the
/// handover a failure or <see cref="Cancel"/> leaves the VM running here; after it, the VM never resumes here.
/// </summary>
public sealed class OutgoingMigration : IProgress<MigrationProgress>
{
    /// <summary>How long connecting to the target may take.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);

    private readonly Lock _lock = new();
    private readonly MigrateRequest _request;
    private readonly CancellationTokenSource _cancel = new();
    private LauncherMigrationStatus _status;
    private bool _cancelRequested;

    public OutgoingMigration(MigrateRequest request)
    {
        _request = request;
        _status = new LauncherMigrationStatus(request.MigrationUid, LauncherMigrationStatus.Source, LauncherMigrationPhases.Transferring, StartTimestamp: DateTimeOffset.UtcNow);
    }

    public string MigrationUid => _request.MigrationUid;

    public LauncherMigrationStatus Status
    {
        get { lock (_lock) return _status; }
    }

    /// <summary>Completes when the migration has ended either way (never faults).</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    public bool Finished => Status.Phase is LauncherMigrationPhases.Completed or LauncherMigrationPhases.Failed;

    /// <summary>The options the request asks for, over the defaults.</summary>
    public static MigrationOptions OptionsOf(MigrateRequest request)
    {
        var options = new MigrationOptions();
        if (request.MaxDowntimeMilliseconds is { } downtime) options = options with { MaxDowntime = TimeSpan.FromMilliseconds(downtime) };
        if (request.CompletionTimeoutPerGiBSeconds is { } perGiB) options = options with { CompletionTimeoutPerGiB = TimeSpan.FromSeconds(perGiB) };
        if (request.ProgressTimeoutSeconds is { } progress) options = options with { ProgressTimeout = TimeSpan.FromSeconds(progress) };
        if (request.AllowAutoConverge is { } converge) options = options with { AllowAutoConverge = converge };
        return options;
    }

    public void Start(VirtualMachine vm, Action<string> log)
    {
        _log = log;
        Completion = Task.Run(() => RunAsync(vm, log));
    }

    private Action<string>? _log;
    private System.Diagnostics.Activity? _span;

    /// <summary>Asks the migration to stop; false once the VM has been handed over (too late: it runs on the target).</summary>
    public bool Cancel()
    {
        lock (_lock)
        {
            if (_status.HandedOver == true || _status.Phase == LauncherMigrationPhases.Completed) return false;
            _cancelRequested = true;
        }
        _cancel.Cancel();
        return true;
    }

    public void Report(MigrationProgress value)
    {
        _span?.AddEvent(new System.Diagnostics.ActivityEvent(value.Round == 0 ? "full pass" : $"round {value.Round}", tags: new System.Diagnostics.ActivityTagsCollection
        {
            ["bytes_sent"] = (long)value.BytesSent, ["remaining_bytes"] = (long)value.RemainingBytes, ["throttle_percent"] = value.ThrottlePercent,
        }));
        Update(s => s with
        {
            BytesTransferred = (long)value.BytesSent, RemainingBytes = (long)value.RemainingBytes, Iterations = value.Round + 1, ThrottlePercent = value.ThrottlePercent,
        });
        _log?.Invoke($"migration {MigrationUid}: {(value.Round == 0 ? "full pass" : $"round {value.Round}")} done at {value.Elapsed.TotalSeconds:0.0} s: " +
            $"{value.BytesSent >> 20} MiB sent ({value.BandwidthBytesPerSecond / (1 << 20):0.0} MiB/s), {value.RemainingBytes >> 10} KiB dirty " +
            $"({value.DirtyBytesPerSecond / (1 << 20):0.0} MiB/s), throttle {value.ThrottlePercent} %; so far {value.Writing.TotalSeconds:0.00} s writing to the link, " +
            $"{value.Syncing.TotalSeconds:0.00} s waiting for the target; the rest is reading guest memory and the dirty log");
    }

    private async Task RunAsync(VirtualMachine vm, Action<string> log)
    {
        string target = $"{_request.TargetAddress}:{_request.TargetPort}";
        string uid = _request.MigrationUid;
        using var span = _span = MigrationTrace.Start(LauncherTelemetry.Tracing, uid, "migration send", System.Diagnostics.ActivityKind.Client);
        span?.SetTag("podvisor.migration.target", target);
        try
        {
            using var tls = MigrationTls.From(_request.Tls);
            using var tcp = new TcpClient { NoDelay = true };
            using (var connecting = CancellationTokenSource.CreateLinkedTokenSource(_cancel.Token))
            {
                connecting.CancelAfter(ConnectTimeout);
                try
                {
                    await tcp.ConnectAsync(_request.TargetAddress, _request.TargetPort, connecting.Token);
                }
                catch (OperationCanceledException) when (!_cancel.IsCancellationRequested)
                {
                    throw new MigrationException($"no connection to the target at {target} within {ConnectTimeout.TotalSeconds:0} s");
                }
                catch (SocketException e)
                {
                    throw new MigrationException($"cannot connect to the target at {target}: {e.Message}");
                }
            }
            TlsSocketStream link;
            try
            {
                link = await tls.ConnectAsync(tcp.Client, _cancel.Token);
            }
            catch (Exception e) when (e is AuthenticationException or IOException || e is OperationCanceledException && !_cancel.IsCancellationRequested)
            {
                throw new MigrationException($"the target at {target} failed the mutual TLS handshake: {IncomingMigration.TlsFailure(e)}");
            }
            await using var _ = link;
            log($"migration {uid}: sending the VM to {target} ({link.Protocol}, {link.CipherSuite})");
            var result = await new MigrationSender(vm, link, OptionsOf(_request), this).RunAsync(_cancel.Token);
            Update(s => s with
            {
                Phase = LauncherMigrationPhases.Completed, EndTimestamp = DateTimeOffset.UtcNow, HandedOver = true, BytesTransferred = (long)result.BytesSent,
                RemainingBytes = 0, Iterations = result.Rounds, ThrottlePercent = result.MaxThrottlePercent,
                DowntimeMilliseconds = result.Downtime.TotalMilliseconds, TotalMilliseconds = result.Total.TotalMilliseconds,
            });
            span?.SetTag("podvisor.migration.downtime_ms", result.Downtime.TotalMilliseconds);
            span?.SetTag("podvisor.migration.bytes", (long)result.BytesSent);
            span?.SetTag("podvisor.migration.rounds", result.Rounds);
            log($"migration {uid}: done in {result.Total.TotalSeconds:0.00} s, downtime {result.Downtime.TotalMilliseconds:0} ms ({result.DowntimeParts}), " +
                $"{result.BytesSent >> 20} MiB in {result.Rounds} round(s)");
        }
        catch (Exception e) when (e is MigrationException or LauncherException or IOException or OperationCanceledException)
        {
            bool handedOver = e is MigrationException { HandedOver: true };
            string reason;
            lock (_lock) reason = _cancelRequested && !handedOver ? "cancelled" : e.Message;
            Update(s => s with { Phase = LauncherMigrationPhases.Failed, EndTimestamp = DateTimeOffset.UtcNow, FailureReason = reason, HandedOver = handedOver });
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, reason);
            log(handedOver ? $"migration {uid} failed after the handover ({reason}): the VM does not run here any more"
                           : $"migration {uid} failed ({reason}): the VM runs on here");
        }
    }

    private void Update(Func<LauncherMigrationStatus, LauncherMigrationStatus> change)
    {
        lock (_lock) _status = change(_status);
    }
}
