using System.Buffers.Binary;
using System.Text;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Devices.Virtio.Block;

/// <summary>
/// virtio-blk (virtio 1.2 §5.2) over a <see cref="DiskImage"/>: read, write, flush, get-id and discard,
/// read-only disks refused writes with IOERR as the spec asks. Data moves between the image and guest
/// RAM without an intermediate copy. Requests the device cannot make sense of are refused and counted.
/// </summary>
public sealed class VirtioBlock : VirtioDevice
{
    public const ushort QueueSize = 256;
    public const int IdLength = 20;
    /// <summary>Discard ranges per request (the driver splits larger ones).</summary>
    public const uint MaxDiscardSegments = 1;
    public const uint MaxDiscardSectors = uint.MaxValue / DiskImage.SectorSize;

    private readonly DiskImage _disk;
    private readonly byte[] _id;
    private readonly byte[] _config;
    private readonly List<Memory<byte>> _readSegments = [];
    private readonly List<ReadOnlyMemory<byte>> _writeSegments = [];
    private long _reads, _writes, _flushes, _discards, _ioErrors, _bytesRead, _bytesWritten;

    /// <param name="id">The disk's serial (GET_ID, /sys/block/vdX/serial): at most 20 ASCII bytes.</param>
    public VirtioBlock(DiskImage disk, string id) : base(QueueSize)
    {
        _disk = disk;
        if (!IsValidId(id)) throw new ArgumentException($"disk id must be at most {IdLength} printable ASCII characters, got '{id}'");
        _id = Encoding.ASCII.GetBytes(id);
        _config = BuildConfig(disk);
    }

    /// <summary>Whether <paramref name="id"/> fits GET_ID's 20 bytes of printable ASCII.</summary>
    public static bool IsValidId(string id) => id.Length <= IdLength && id.All(c => c >= 0x20 && c <= 0x7e);

    public override VirtioDeviceType Type => VirtioDeviceType.Block;

    public override ulong Features =>
        1UL << BlockFeatures.SegMax | 1UL << BlockFeatures.Flush
        | (_disk.ReadOnly ? 1UL << BlockFeatures.ReadOnly : 1UL << BlockFeatures.Discard);

    protected override ReadOnlySpan<byte> ConfigSpace => _config;

    public DiskImage Disk => _disk;

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

    public override void ProcessQueue(int index) => ServeAvailable(Queues[index], Handle);

    private void Handle(Virtqueue queue, DescriptorChain chain)
    {
        var reader = chain.Reader(Memory);
        // Every request has a 16-byte header to read and at least the status byte to write.
        if (!reader.TryRead(out BlockRequestHeader header) || chain.WritableLength == 0)
        {
            queue.Refuse(chain, ChainError.BadRequest);
            return;
        }
        var writer = chain.Writer(Memory);
        byte status;
        try
        {
            status = header.Type switch
            {
                BlockRequestType.In => Read(header.Sector, ref writer),
                BlockRequestType.Out => Write(header.Sector, ref reader),
                BlockRequestType.Flush => Flush(),
                BlockRequestType.GetId => GetId(ref writer),
                BlockRequestType.Discard => Discard(ref reader),
                _ => BlockStatus.Unsupported,
            };
        }
        catch (IOException)        // host I/O errors (KvmException from discard is one too)
        {
            status = BlockStatus.IoError;
        }
        if (status == BlockStatus.IoError) Interlocked.Increment(ref _ioErrors);
        // The status is the chain's last writable byte, whatever came before it.
        writer.TrySkip(writer.Remaining - 1);
        writer.TryWrite(status);
        queue.AddUsed(chain.HeadIndex, writer.Written);
    }

    /// <summary>Whether [sector, +bytes) lies on the disk, in whole sectors.</summary>
    private bool InRange(ulong sector, ulong bytes) =>
        bytes % DiskImage.SectorSize == 0 && sector <= _disk.Sectors && bytes / DiskImage.SectorSize <= _disk.Sectors - sector;

    private byte Read(ulong sector, ref ChainWriter writer)
    {
        uint length = writer.Remaining - 1;
        if (!InRange(sector, length)) return BlockStatus.IoError;
        // Straight from the image into the guest's buffers, one preadv for the request.
        _readSegments.Clear();
        writer.TryTakeSegments(length, _readSegments);
        _disk.Read(sector * DiskImage.SectorSize, _readSegments);
        Interlocked.Increment(ref _reads);
        Interlocked.Add(ref _bytesRead, length);
        return BlockStatus.Ok;
    }

    private byte Write(ulong sector, ref ChainReader reader)
    {
        uint length = reader.Remaining;
        if (_disk.ReadOnly || !InRange(sector, length)) return BlockStatus.IoError;
        _writeSegments.Clear();
        reader.TryTakeSegments(length, _writeSegments);
        _disk.Write(sector * DiskImage.SectorSize, _writeSegments);
        Interlocked.Increment(ref _writes);
        Interlocked.Add(ref _bytesWritten, length);
        return BlockStatus.Ok;
    }

    private byte Flush()
    {
        if (!_disk.ReadOnly) _disk.Flush();
        Interlocked.Increment(ref _flushes);
        return BlockStatus.Ok;
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
}
