using System.Buffers.Binary;
using System.Text;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Devices.Virtio.Block;

/// <summary>
/// virtio-blk (virtio 1.2 §5.2) over a <see cref="DiskImage"/>: read, write, flush, get-id and discard,
/// read-only disks refused writes with IOERR as the spec asks. Reads, writes and flushes go to the host
/// through an <see cref="IBlockIoEngine"/> (synchronous, a thread pool, or io_uring) and are answered as
/// they finish, in any order; data moves between the image and guest RAM without an intermediate copy.
/// Requests the device cannot make sense of are refused and counted.
/// </summary>
public sealed class VirtioBlock : VirtioDevice, IDisposable
{
    public const ushort QueueSize = 256;
    public const int IdLength = 20;
    /// <summary>Discard ranges per request (the driver splits larger ones).</summary>
    public const uint MaxDiscardSegments = 1;
    public const uint MaxDiscardSectors = uint.MaxValue / DiskImage.SectorSize;
    /// <summary>What disks use unless told otherwise (chosen by measurement: docs/virtio.md).</summary>
    public const BlockIoMode DefaultIoMode = BlockIoMode.IoUring;
    /// <summary>Not a status: the request went to the host and is answered when it finishes.</summary>
    private const byte Started = 0xff;

    private readonly DiskImage _disk;
    private readonly IBlockIoEngine _engine;
    private readonly byte[] _id;
    private readonly byte[] _config;
    private readonly BlockRequest?[] _requests = new BlockRequest?[QueueSize];
    private readonly List<BlockRequest> _finished = [];
    private readonly List<Memory<byte>> _statusSegment = [];
    private long _reads, _writes, _flushes, _discards, _ioErrors, _bytesRead, _bytesWritten;

    /// <param name="id">The disk's serial (GET_ID, /sys/block/vdX/serial): at most 20 ASCII bytes.</param>
    public VirtioBlock(DiskImage disk, string id, BlockIoMode ioMode = DefaultIoMode) : base(QueueSize)
    {
        _disk = disk;
        if (!IsValidId(id)) throw new ArgumentException($"disk id must be at most {IdLength} printable ASCII characters, got '{id}'");
        _id = Encoding.ASCII.GetBytes(id);
        _config = BuildConfig(disk);
        IoMode = ioMode;
        _engine = ioMode switch
        {
            BlockIoMode.Sync => new SyncBlockEngine(disk),
            BlockIoMode.Threads => new ThreadPoolBlockEngine(disk, $"blk-{id}"),
            BlockIoMode.IoUring => new IoUringBlockEngine(disk, QueueSize),
            _ => throw new ArgumentOutOfRangeException(nameof(ioMode)),
        };
    }

    /// <summary>Whether <paramref name="id"/> fits GET_ID's 20 bytes of printable ASCII.</summary>
    public static bool IsValidId(string id) => id.Length <= IdLength && id.All(c => c >= 0x20 && c <= 0x7e);

    public override VirtioDeviceType Type => VirtioDeviceType.Block;

    public override ulong Features =>
        1UL << BlockFeatures.SegMax | 1UL << BlockFeatures.Flush
        | (_disk.ReadOnly ? 1UL << BlockFeatures.ReadOnly : 1UL << BlockFeatures.Discard);

    protected override ReadOnlySpan<byte> ConfigSpace => _config;

    public DiskImage Disk => _disk;

    public BlockIoMode IoMode { get; }

    /// <summary>Requests in the host, not yet answered.</summary>
    public int InFlight => _engine.InFlight;

    public override IReadOnlyList<System.Runtime.InteropServices.SafeHandle> BackendHandles =>
        _engine.Completions is { } completions ? [completions] : [];

    public long Reads => Interlocked.Read(ref _reads);
    public long Writes => Interlocked.Read(ref _writes);
    public long Flushes => Interlocked.Read(ref _flushes);
    public long Discards => Interlocked.Read(ref _discards);
    /// <summary>Requests answered IOERR: out of range, writes to a read-only disk, host I/O failures.</summary>
    public long IoErrors => Interlocked.Read(ref _ioErrors);
    public long BytesRead => Interlocked.Read(ref _bytesRead);
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    private static byte[] BuildConfig(DiskImage disk)
    {
        var c = new byte[60];
        BinaryPrimitives.WriteUInt64LittleEndian(c, disk.Sectors);                 // capacity
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(12), QueueSize - 2);     // seg_max: room for header and status
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(34), 1);                 // num_queues
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(36), MaxDiscardSectors); // max_discard_sectors
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(40), MaxDiscardSegments);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(44), 1);                 // discard_sector_alignment
        return c;
    }

    public override void ProcessQueue(int index)
    {
        var queue = Queues[index];
        bool answered = false;
        ushort handedBack = queue.UsedIndex;
        while (queue.TryPop(out var chain)) answered |= Handle(queue, chain);
        _engine.Kick();                 // the batch goes to the host at once
        answered |= AnswerFinished();
        if (answered || queue.UsedIndex != handedBack) SignalUsed(queue);      // refused chains included
    }

    /// <summary>The engine's completion eventfd: answer what finished.</summary>
    public override void OnBackendReady(int index)
    {
        if (AnswerFinished()) SignalUsed(Queues[0]);
    }

    public override void Quiesce()
    {
        _engine.Drain();
        if (AnswerFinished()) SignalUsed(Queues[0]);
    }

    protected override void OnReset()
    {
        // The driver has forgotten these requests: let the host finish them, answer nobody.
        _engine.Drain();
        _engine.TakeFinished(_finished);
        foreach (var request in _finished) request.Clear();
        _finished.Clear();
    }

    /// <summary>Serves one chain: answers it now (true) or starts host I/O that answers it later (false).</summary>
    private bool Handle(Virtqueue queue, DescriptorChain chain)
    {
        var reader = chain.Reader(Memory);
        // Every request has a 16-byte header to read and at least the status byte to write.
        if (!reader.TryRead(out BlockRequestHeader header) || chain.WritableLength == 0)
        {
            queue.Refuse(chain, ChainError.BadRequest);
            return true;
        }
        if (_requests[chain.HeadIndex] is { InFlight: true })
        {
            // A driver bug or a hostile one: answering it would clobber the request the host is working on.
            queue.Refuse(chain, ChainError.HeadInFlight);
            return true;
        }
        var writer = chain.Writer(Memory);
        byte status;
        try
        {
            status = header.Type switch
            {
                BlockRequestType.In => StartRead(chain.HeadIndex, header.Sector, ref writer),
                BlockRequestType.Out => StartWrite(chain.HeadIndex, header.Sector, ref reader, ref writer),
                BlockRequestType.Flush => Start(Request(chain.HeadIndex, BlockRequestType.Flush, 0, 0), ref writer),
                BlockRequestType.GetId => GetId(ref writer),
                BlockRequestType.Discard => Discard(ref reader),
                _ => BlockStatus.Unsupported,
            };
        }
        catch (IOException)        // host I/O errors (KvmException from discard is one too)
        {
            status = BlockStatus.IoError;
        }
        if (status == Started) return false;
        if (status == BlockStatus.IoError) Interlocked.Increment(ref _ioErrors);
        // The status is the chain's last writable byte, whatever came before it.
        writer.TrySkip(writer.Remaining - 1);
        writer.TryWrite(status);
        queue.AddUsed(chain.HeadIndex, writer.Written);
        return true;
    }

    /// <summary>Whether [sector, +bytes) lies on the disk, in whole sectors.</summary>
    private bool InRange(ulong sector, ulong bytes) =>
        bytes % DiskImage.SectorSize == 0 && sector <= _disk.Sectors && bytes / DiskImage.SectorSize <= _disk.Sectors - sector;

    private BlockRequest Request(ushort head, uint type, ulong offset, uint length)
    {
        var request = _requests[head] ??= new BlockRequest(head);
        request.Begin(type, offset, length);
        return request;
    }

    private byte StartRead(ushort head, ulong sector, ref ChainWriter writer)
    {
        uint length = writer.Remaining - 1;
        if (!InRange(sector, length)) return BlockStatus.IoError;
        var request = Request(head, BlockRequestType.In, sector * DiskImage.SectorSize, length);
        // Straight from the image into the guest's buffers.
        writer.TryTakeSegments(length, request.ReadBuffers);
        return Start(request, ref writer);
    }

    private byte StartWrite(ushort head, ulong sector, ref ChainReader reader, ref ChainWriter writer)
    {
        uint length = reader.Remaining;
        if (_disk.ReadOnly || !InRange(sector, length)) return BlockStatus.IoError;
        var request = Request(head, BlockRequestType.Out, sector * DiskImage.SectorSize, length);
        reader.TryTakeSegments(length, request.WriteBuffers);
        return Start(request, ref writer);
    }

    /// <summary>Notes where the answer goes (the status byte, the used length) and hands the request to the engine.</summary>
    private byte Start(BlockRequest request, ref ChainWriter writer)
    {
        writer.TrySkip(writer.Remaining - 1);
        _statusSegment.Clear();
        writer.TryTakeSegments(1, _statusSegment);
        request.Status = _statusSegment[0];
        request.UsedLength = writer.Written;
        _engine.Submit(request);
        return Started;
    }

    /// <summary>Answers the driver for every request the engine has finished; true if there were any.</summary>
    private bool AnswerFinished()
    {
        _engine.TakeFinished(_finished);
        if (_finished.Count == 0) return false;
        var queue = Queues[0];
        foreach (var request in _finished)
        {
            Count(request);
            request.Status.Span[0] = request.Succeeded ? BlockStatus.Ok : BlockStatus.IoError;
            queue.AddUsed((ushort)request.Slot, request.UsedLength);
            request.Clear();
        }
        _finished.Clear();
        return true;
    }

    private void Count(BlockRequest request)
    {
        if (!request.Succeeded)
        {
            Interlocked.Increment(ref _ioErrors);
            return;
        }
        switch (request.Type)
        {
            case BlockRequestType.In:
                Interlocked.Increment(ref _reads);
                Interlocked.Add(ref _bytesRead, request.Length);
                break;
            case BlockRequestType.Out:
                Interlocked.Increment(ref _writes);
                Interlocked.Add(ref _bytesWritten, request.Length);
                break;
            default:
                Interlocked.Increment(ref _flushes);
                break;
        }
    }

    private byte GetId(ref ChainWriter writer)
    {
        // The driver offers 20 bytes; the id is NUL-padded when shorter.
        Span<byte> id = stackalloc byte[IdLength];
        _id.CopyTo(id);
        int n = (int)Math.Min((uint)IdLength, writer.Remaining - 1);
        writer.TryWrite(id[..n]);
        return BlockStatus.Ok;
    }

    private byte Discard(ref ChainReader reader)
    {
        if (_disk.ReadOnly) return BlockStatus.IoError;
        uint count = reader.Remaining / 16;
        if (count == 0 || count > MaxDiscardSegments || reader.Remaining % 16 != 0) return BlockStatus.Unsupported;
        for (uint i = 0; i < count; i++)
        {
            reader.TryRead(out DiscardSegment segment);
            if (segment.Flags != 0) return BlockStatus.Unsupported;         // unmap hint is for WRITE_ZEROES only
            ulong bytes = (ulong)segment.SectorCount * DiskImage.SectorSize;
            if (!InRange(segment.Sector, bytes)) return BlockStatus.IoError;
            _disk.Discard(segment.Sector * DiskImage.SectorSize, bytes);
        }
        Interlocked.Increment(ref _discards);
        return BlockStatus.Ok;
    }

    /// <summary>Waits for the host I/O in flight, then closes the engine and the image.</summary>
    public void Dispose()
    {
        _engine.Dispose();
        _disk.Dispose();
    }
}
