using System.Buffers.Binary;
using Podvisor.Vmm.Memory;
using Podvisor.Vmm.Migration;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Devices.Virtio.Balloon;

/// <summary>
/// virtio-balloon (virtio 1.2 §5.5): how Podvisor takes RAM back from a guest instead of letting the host
/// swap it. The host sets a target; the guest inflates by handing over page numbers, which go back to the
/// host (madvise DONTNEED); deflating returns them (they fault in as zero). The guest also reports its
/// memory statistics and, with free page reporting, every block of pages it frees, which the host
/// reclaims at once. Queues: inflate, deflate, then stats and reporting in that order when negotiated
/// (virtio-mmio numbers only the queues in use).
/// </summary>
public sealed class VirtioBalloon : VirtioDevice
{
    public const ushort QueueSize = 256;
    public const int PageShift = 12;
    public const ulong PageSize = 1UL << PageShift;
    /// <summary>Page numbers per inflate/deflate chain the kernel sends at most (VIRTIO_BALLOON_ARRAY_PFNS_MAX).</summary>
    public const int MaxPfnsPerChain = 256;

    private readonly BalloonOptions _options;
    private readonly byte[] _config = new byte[8];
    private readonly Lock _configLock = new();
    private int _inflateQueue = -1, _deflateQueue = -1, _statsQueue = -1, _reportingQueue = -1;
    private ushort? _heldStatsHead;
    private long _inflatedPages, _deflatedPages, _reportedBytes, _notReturnedPages;

    public VirtioBalloon(BalloonOptions? options = null) : base(QueueSize, QueueSize, QueueSize, QueueSize)
    {
        _options = options ?? new BalloonOptions();
    }

    public override VirtioDeviceType Type => VirtioDeviceType.Balloon;

    public override ulong Features =>
        1UL << BalloonFeatures.StatsQueue
        | (_options.DeflateOnOom ? 1UL << BalloonFeatures.DeflateOnOom : 0)
        | (_options.FreePageReporting ? 1UL << BalloonFeatures.PageReporting : 0);

    protected override ReadOnlySpan<byte> ConfigSpace
    {
        get
        {
            lock (_configLock) return _config.ToArray();
        }
    }

    /// <summary>Pages (4 KiB) the host asks the guest to hold in the balloon.</summary>
    public uint TargetPages
    {
        get { lock (_configLock) return BinaryPrimitives.ReadUInt32LittleEndian(_config); }
    }

    /// <summary>Pages the guest says it holds in the balloon now.</summary>
    public uint ActualPages
    {
        get { lock (_configLock) return BinaryPrimitives.ReadUInt32LittleEndian(_config.AsSpan(4)); }
    }

    /// <summary>Pages given to the host by inflating, in total.</summary>
    public long InflatedPages => Interlocked.Read(ref _inflatedPages);
    public long DeflatedPages => Interlocked.Read(ref _deflatedPages);
    /// <summary>Bytes of freed guest memory the host took back through free page reporting.</summary>
    public long ReportedBytes => Interlocked.Read(ref _reportedBytes);
    /// <summary>Pages the guest gave that the host could not take back (huge-page-backed RAM).</summary>
    public long NotReturnedPages => Interlocked.Read(ref _notReturnedPages);

    /// <summary>The guest's last reported statistics (null until it reports).</summary>
    public BalloonStatistics? Statistics { get; private set; }

    /// <summary>Raised on the device's I/O thread when the guest reports statistics.</summary>
    public event Action<BalloonStatistics>? StatisticsReported;

    /// <summary>Asks the guest to hold <paramref name="pages"/> pages (4 KiB) in the balloon.</summary>
    public void SetTarget(uint pages)
    {
        lock (_configLock) BinaryPrimitives.WriteUInt32LittleEndian(_config, pages);
        if (IsActive) Interrupt.SignalConfigChange();
    }

    /// <summary>The driver writes <c>actual</c> (bytes 4..8); nothing else is writable.</summary>
    public override void WriteConfig(uint offset, ReadOnlySpan<byte> data)
    {
        if (offset < 4 || offset + data.Length > 8) return;
        lock (_configLock) data.CopyTo(_config.AsSpan((int)offset));
    }

    protected override void OnActivate()
    {
        int next = 0;
        _inflateQueue = next++;
        _deflateQueue = next++;
        _statsQueue = VirtioFeatures.Has(AckedFeatures, BalloonFeatures.StatsQueue) ? next++ : -1;
        if (VirtioFeatures.Has(AckedFeatures, BalloonFeatures.FreePageHint)) next++;
        _reportingQueue = VirtioFeatures.Has(AckedFeatures, BalloonFeatures.PageReporting) ? next : -1;
    }

    /// <summary>The configuration (target and actual pages) and the statistics buffer it holds.</summary>
    public override byte[] SaveDeviceState()
    {
        var w = new StateWriter(16);
        w.U32(TargetPages);
        w.U32(ActualPages);
        w.OptionalU16(_heldStatsHead);
        return w.Written.ToArray();
    }

    public override void RestoreDeviceState(byte[] state)
    {
        var r = new StateReader(state, "virtio-balloon state");
        uint target = r.U32("target pages"), actual = r.U32("actual pages");
        ushort? held = r.OptionalU16("held statistics buffer");
        r.End();
        lock (_configLock)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_config, target);
            BinaryPrimitives.WriteUInt32LittleEndian(_config.AsSpan(4), actual);
        }
        _heldStatsHead = held;
    }

    protected override void OnReset()
    {
        _heldStatsHead = null;
        _inflateQueue = _deflateQueue = _statsQueue = _reportingQueue = -1;
    }

    public override void ProcessQueue(int index)
    {
        if (index == _inflateQueue) ProcessPageNumbers(index, inflate: true);
        else if (index == _deflateQueue) ProcessPageNumbers(index, inflate: false);
        else if (index == _statsQueue) ProcessStatistics();
        else if (index == _reportingQueue) ProcessReports();
    }

    /// <summary>Asks the guest for fresh statistics: the held stats buffer goes back, the guest refills it.
    /// Touches the queue: call it on the device's I/O thread or under its transport's lock.</summary>
    public void RequestStatistics()
    {
        if (_heldStatsHead is not { } head || _statsQueue < 0) return;
        _heldStatsHead = null;
        var queue = Queues[_statsQueue];
        queue.AddUsed(head, 0);
        SignalUsed(queue);
    }

    private void ProcessPageNumbers(int index, bool inflate) =>
        ServeAvailable(Queues[index], (queue, chain) => TakePageNumbers(queue, chain, inflate));

    private void TakePageNumbers(Virtqueue queue, DescriptorChain chain, bool inflate)
    {
        if (chain.ReadableLength % 4 != 0 || chain.ReadableLength / 4 > MaxPfnsPerChain || chain.WritableLength != 0)
        {
            queue.Refuse(chain, ChainError.BadRequest);
            return;
        }
        Span<byte> pfn = stackalloc byte[4];
        var reader = chain.Reader(Memory);
        int count = (int)(chain.ReadableLength / 4);
        for (int i = 0; i < count; i++)
        {
            reader.TryRead(pfn);
            var page = new GuestAddress((ulong)BinaryPrimitives.ReadUInt32LittleEndian(pfn) << PageShift);
            if (!inflate)
            {
                Interlocked.Increment(ref _deflatedPages);
                continue;
            }
            try
            {
                if (Memory.Discard(page, PageSize)) Interlocked.Increment(ref _inflatedPages);
                else Interlocked.Increment(ref _notReturnedPages);
            }
            catch (GuestMemoryException)
            {
                // A page number outside RAM: nothing to give back; the chain is still answered.
                queue.Errors.Count(ChainError.BufferOutOfRange);
            }
        }
        queue.AddUsed(chain.HeadIndex, 0);
    }

    private void ProcessStatistics()
    {
        var queue = Queues[_statsQueue];
        Span<byte> entry = stackalloc byte[10];
        while (queue.TryPop(out var chain))
        {
            if (_heldStatsHead is { } previous) queue.AddUsed(previous, 0);   // a driver that sent two: answer the older
            if (chain.ReadableLength % 10 != 0)
            {
                queue.Refuse(chain, ChainError.BadRequest);
                _heldStatsHead = null;
                continue;
            }
            var values = new Dictionary<BalloonStatistic, ulong>();
            var reader = chain.Reader(Memory);
            while (reader.TryRead(entry))
                values[(BalloonStatistic)BinaryPrimitives.ReadUInt16LittleEndian(entry)] = BinaryPrimitives.ReadUInt64LittleEndian(entry[2..]);
            // Held until the host wants fresh numbers: returning it is how the host asks.
            _heldStatsHead = chain.HeadIndex;
            var stats = new BalloonStatistics(DateTimeOffset.UtcNow, values);
            Statistics = stats;
            StatisticsReported?.Invoke(stats);
        }
    }

    private void ProcessReports() => ServeAvailable(Queues[_reportingQueue], TakeReport);

    /// <summary>Each buffer is a run of free guest pages (device-writable, per the spec; nothing is written).</summary>
    private void TakeReport(Virtqueue queue, DescriptorChain chain)
    {
        foreach (var buffer in chain.Buffers)
        {
            try
            {
                if (Memory.Discard(buffer.Address, buffer.Length)) Interlocked.Add(ref _reportedBytes, buffer.Length);
                else Interlocked.Add(ref _notReturnedPages, buffer.Length / (long)PageSize);
            }
            catch (GuestMemoryException)
            {
                queue.Errors.Count(ChainError.BadRequest);    // not page aligned
            }
        }
        queue.AddUsed(chain.HeadIndex, chain.WritableLength);
    }
}
