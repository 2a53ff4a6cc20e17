using System.Diagnostics;
using Podvisor.Kvm;
using Podvisor.Vmm.Machine;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Migration;

/// <summary>
/// The source side of a pre-copy live migration: a full pass over guest RAM (pages of zeros skipped: the
/// target's RAM starts zeroed), then rounds of what the guest and the VMM dirtied meanwhile, until what is
/// left would cross the link within the allowed downtime at the measured bandwidth; then stop-and-copy
/// (pause, last dirty pages, machine state) and the handover. Auto-converge throttles the vCPUs when the
/// guest dirties faster than the link carries. Until the handover any failure, timeout or cancellation
/// aborts: the target is told, dirty logging and throttling end, and the VM runs on here as before.
/// </summary>
public sealed class MigrationSender
{
    private readonly VirtualMachine _vm;
    private readonly MigrationChannel _channel;
    private readonly MigrationOptions _options;
    private readonly IProgress<MigrationProgress>? _progress;
    private readonly PageBatch _batch = new();
    private readonly GuestPages _guestPages;
    private readonly Stopwatch _clock = new();
    private ulong _bytesSent, _pagesSent, _zeroPages;
    private long _writingTicks, _syncingTicks;
    private CancellationToken _stop;

    /// <summary>Dirty memory so small that another round would save less than its own round trip costs.</summary>
    private const ulong SmallestWorthARound = 64 << 10;

    /// <summary>How long a frame under way may still take once the migration is cancelled or out of time.</summary>
    private static readonly TimeSpan StuckFrameGrace = TimeSpan.FromSeconds(5);
    private int _maxThrottle;

    public MigrationSender(VirtualMachine vm, Stream link, MigrationOptions? options = null, IProgress<MigrationProgress>? progress = null)
    {
        _vm = vm;
        _channel = new MigrationChannel(link);
        _options = options ?? new MigrationOptions();
        _options.Validate();
        _progress = progress;
        _guestPages = PageBatch.PagesOf(vm.Memory.Host);
    }

    /// <summary>Migrates the running VM over the link. On success the VM here is stopped (<see cref="StopReason.Migrated"/>).</summary>
    public async Task<MigrationResult> RunAsync(CancellationToken cancel)
    {
        if (_vm.State != VmState.Running) throw new InvalidOperationException($"only a running VM migrates; this one is {_vm.State}");
        _clock.Start();
        double gib = Math.Max(1.0, _vm.Memory.Size / (double)(1UL << 30));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        deadline.CancelAfter(_options.CompletionTimeoutPerGiB * gib);
        // A cancel or the deadline is honoured between frames (_stop), so the link stays in step and the target is
        // told why; the I/O itself is cut only if a frame then still has not gone through (a stalled target).
        _stop = deadline.Token;
        using var hardStop = new CancellationTokenSource();
        using var escalate = _stop.Register(() => hardStop.CancelAfter(StuckFrameGrace));
        var token = hardStop.Token;
        bool paused = false, loggingDirty = false, handedOver = false;
        try
        {
            await _channel.HandshakeAsync(token);
            await _channel.SendJsonAsync(MigrationMessage.Hello, new MigrationHello(MigrationChannel.ProtocolVersion, _vm.Config.Cpus, _vm.Memory.Size,
                PageBatch.PageSize, [.. _vm.VirtioDevices.Select(d => d.Device.Type.ToString())]), MigrationJson.Default.MigrationHello, token);
            await _channel.ExpectAsync(MigrationMessage.Accept, _stop);   // a read cut short leaves the link able to carry the Abort

            var log = _vm.StartDirtyLogging();
            loggingDirty = true;
            var (rounds, pending) = await PreCopyAsync(log, token);

            var downtime = Stopwatch.StartNew();
            if (!_vm.TryPause())
                throw new MigrationException($"the VM is {_vm.State} on the source: there is nothing to stop and copy");
            paused = true;
            var pause = downtime.Elapsed;
            // What the last round found dirty (and chose not to send while running), and what was dirtied since.
            var last = log.Collect();
            last.UnionWith(pending);
            var lastZeros = new DirtyBitmap(last.PageCount);
            log.FindKnownZero(last, lastZeros);
            await SendPagesAsync(last.DirtyPages(), lastZeros, token);
            var lastPages = downtime.Elapsed;
            var state = _vm.SaveState();
            var saved = downtime.Elapsed;
            await _channel.SendAsync(MigrationMessage.State, MachineStateCodec.Encode(state), token);
            await ExpectWithinAsync(MigrationMessage.StateLoaded, _stop);
            var restored = downtime.Elapsed;

            // The handover: from here the VM must never resume on this side. It ends (its threads woken to finish) once the
            // target runs it, or however the handover fails.
            const string Migrated = "live-migrated to the target";
            if (!_vm.HandOver(Migrated))
                throw new MigrationException("the VM was stopped on the source during stop-and-copy; it is not handed over");
            handedOver = true;
            var guestRunning = TimeSpan.Zero;
            try
            {
                // Past this point a cancel or the deadline must not stop Go from leaving: the VM would run nowhere.
                using (var handover = new CancellationTokenSource(_options.HandoverTimeout))
                    await _channel.SendAsync(MigrationMessage.Go, ReadOnlyMemory<byte>.Empty, handover.Token);
                var running = await ExpectWithinAsync(MigrationMessage.Running, CancellationToken.None);
                downtime.Stop();
                // The guest resumed when the target started it, before it said so: on a host whose CPUs are busy the guest
                // may run a while before Running goes out. Both are intervals on each side's own clock.
                guestRunning = TimeSpan.FromTicks(Math.Min(RunningReport.Decode(running).Ticks, (downtime.Elapsed - restored).Ticks));
            }
            finally
            {
                _vm.CompleteMigration(Migrated);
            }
            var down = downtime.Elapsed - guestRunning;
            var parts = new DowntimeBreakdown(pause, lastPages - pause, last.CountDirty(), saved - lastPages, restored - saved, down - restored);
            return new MigrationResult(_clock.Elapsed, down, _bytesSent, rounds, _pagesSent, _zeroPages, _maxThrottle, parts);
        }
        catch (Exception e) when (!handedOver)
        {
            await TryAbortAsync(Describe(e, cancel));
            _vm.ThrottlePercent = 0;
            if (loggingDirty) _vm.StopDirtyLogging();
            if (paused) _vm.TryResume();
            if (e is OperationCanceledException && !cancel.IsCancellationRequested)
                throw new MigrationException($"the migration did not complete within {_options.CompletionTimeoutPerGiB.TotalSeconds:0} s per GiB ({_clock.Elapsed.TotalSeconds:0.0} s); the VM runs on here", e);
            if (e is IOException or System.Net.Sockets.SocketException)
                throw new MigrationException($"the link to the target broke: {e.Message}; the VM runs on here", e);
            throw;
        }
        catch (Exception e) when (e is not MigrationException { HandedOver: true })
        {
            throw new MigrationException($"the VM was handed over but the target did not confirm it runs: {e.Message}", e) { HandedOver = true };
        }
    }

    private static string Describe(Exception e, CancellationToken cancel) => e switch
    {
        OperationCanceledException when cancel.IsCancellationRequested => "the source cancelled the migration",
        OperationCanceledException => "the migration timed out on the source",
        _ => e.Message,
    };

    private async Task<ReadOnlyMemory<byte>> ExpectWithinAsync(MigrationMessage expected, CancellationToken token)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(token);
        wait.CancelAfter(_options.HandoverTimeout);
        try
        {
            return await _channel.ExpectAsync(expected, wait.Token);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            throw new MigrationException($"the target did not answer {expected} within {_options.HandoverTimeout.TotalSeconds:0} s");
        }
    }

    /// <summary>
    /// Rounds until what is left fits the downtime; returns how many were run and the pages left dirty, which
    /// stop-and-copy must send.
    /// </summary>
    private async Task<(int Rounds, DirtyBitmap Pending)> PreCopyAsync(DirtyPageLog log, CancellationToken token)
    {
        var round = Stopwatch.StartNew();
        ulong before = _bytesSent;
        var zeros = new DirtyBitmap(_vm.Memory.Host.Size / GuestRam.PageSize);
        await SendPagesAsync(log.Rearm(log.Collect(), zeros), zeros, token, skipZeroPages: true);
        await SyncAsync(token);
        ulong bestRemaining = ulong.MaxValue, previousRemaining = 0;
        var lastProgress = Stopwatch.StartNew();
        int fastDirtying = 0;
        for (int rounds = 1; ; rounds++)
        {
            double seconds = Math.Max(round.Elapsed.TotalSeconds, 1e-6);
            double bandwidth = Math.Max(1, (_bytesSent - before) / seconds);
            var dirty = log.Collect();
            ulong remaining = dirty.CountDirty() * GuestRam.PageSize;
            double dirtyRate = remaining / seconds;
            _progress?.Report(new MigrationProgress(rounds - 1, _clock.Elapsed, _bytesSent, _pagesSent, _zeroPages, remaining, bandwidth, dirtyRate, _vm.ThrottlePercent,
                Stopwatch.GetElapsedTime(0, _writingTicks), Stopwatch.GetElapsedTime(0, _syncingTicks)));
            // The last pages are the one part of the downtime that rounds can shrink (pausing, the state and the handover
            // cost the same whatever is left): while a round still halves what is dirty, one more (short) round is cheaper
            // than sending it paused. Rounds stop halving at the guest's floor (what it dirties while a round runs).
            bool halving = remaining <= previousRemaining / 2 && remaining > SmallestWorthARound;
            if (remaining / bandwidth <= _options.MaxDowntime.TotalSeconds && !halving) return (rounds, dirty);
            previousRemaining = remaining;

            if (remaining < bestRemaining)
            {
                bestRemaining = remaining;
                lastProgress.Restart();
            }
            else if (lastProgress.Elapsed > _options.ProgressTimeout)
            {
                throw new MigrationException($"no progress for {_options.ProgressTimeout.TotalSeconds:0} s: {remaining >> 10} KiB still dirty " +
                    $"(the guest dirties {dirtyRate / (1 << 20):0.0} MiB/s, the link carries {bandwidth / (1 << 20):0.0} MiB/s, vCPUs throttled {_vm.ThrottlePercent} %); the VM runs on here");
            }
            // QEMU's rule: when the guest dirtied more than half of what a round sent, twice, slow its vCPUs down
            // (20 %); then 10 points more after every such round (QEMU re-checks about once a second; our
            // rounds are longer on a slow link, so each one counts).
            if (_options.AllowAutoConverge && remaining > (_bytesSent - before) / 2)
            {
                if (_vm.ThrottlePercent > 0) _vm.ThrottlePercent = Math.Min(99, _vm.ThrottlePercent + 10);
                else if (++fastDirtying >= 2) _vm.ThrottlePercent = 20;
                _maxThrottle = Math.Max(_maxThrottle, _vm.ThrottlePercent);
            }

            round.Restart();
            before = _bytesSent;
            zeros = new DirtyBitmap(zeros.PageCount);
            await SendPagesAsync(log.Rearm(dirty, zeros), zeros, token);
            await SyncAsync(token);
        }
    }

    /// <summary>
    /// Waits until the target has applied everything sent so far. Socket buffers hold megabytes the target has not yet
    /// read: without this the paused VM's state would queue behind them (measured: ~70 ms of an idle guest's downtime
    /// inside the emulated host), and a round's bandwidth would count bytes the target had not received.
    /// </summary>
    private async Task SyncAsync(CancellationToken token)
    {
        long start = Stopwatch.GetTimestamp();
        await _channel.SendAsync(MigrationMessage.Sync, ReadOnlyMemory<byte>.Empty, token);
        await _channel.ExpectAsync(MigrationMessage.Synced, _stop);   // a read cut short leaves the link able to carry the Abort
        _syncingTicks += Stopwatch.GetTimestamp() - start;
    }

    /// <summary>Sends the pages; those marked in <paramref name="knownZero"/> go as zeros unread (or, with
    /// <paramref name="skipZeroPages"/>, not at all, as do pages that turn out to be zeros).</summary>
    private async Task SendPagesAsync(IEnumerable<ulong> pages, DirtyBitmap? knownZero, CancellationToken token, bool skipZeroPages = false)
    {
        foreach (ulong page in pages)
        {
            if (!AddPage(page, knownZero?.IsDirty(page) == true, skipZeroPages)) continue;
            if (_batch.IsFull) await FlushBatchAsync(token);
        }
        await FlushBatchAsync(token);
    }

    /// <summary>Adds the page to the batch unless it is zeros and those are skipped; returns whether it was added.</summary>
    private bool AddPage(ulong page, bool knownZero, bool skipZeroPages)
    {
        if (knownZero)
        {
            _zeroPages++;
            if (skipZeroPages) return false;
            _batch.AddZero(page);
            return true;
        }
        var data = _vm.Memory.Host.GetSpan(page * GuestRam.PageSize, PageBatch.PageSize);
        if (skipZeroPages && !data.ContainsAnyExcept((byte)0))
        {
            _zeroPages++;
            return false;
        }
        if (_batch.Add(page, data)) _zeroPages++;
        else _pagesSent++;
        return true;
    }

    private async Task FlushBatchAsync(CancellationToken token)
    {
        _stop.ThrowIfCancellationRequested();
        if (_batch.Count == 0) return;
        long start = Stopwatch.GetTimestamp();
        await _channel.SendPagesAsync(_batch, _guestPages, token);
        _writingTicks += Stopwatch.GetTimestamp() - start;
        _bytesSent += (ulong)_batch.PayloadLength + 5;
        _batch.Clear();
    }

    private async Task TryAbortAsync(string reason)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _channel.SendAbortAsync(reason, timeout.Token);
        }
        catch (Exception)
        {
            // The link may be what failed; the abort is a courtesy to the target, which also fails on a broken link.
        }
    }
}
