using System.Buffers.Binary;
using System.Text;

namespace Podvisor.Launcher.CloudInit;

/// <summary>
/// A minimal ISO 9660 image (ECMA-119): one volume descriptor, a root directory of plain files, no Rock Ridge
/// or Joliet. Enough for a cloud-init NoCloud seed (what <c>genisoimage -volid cidata</c> makes): Linux shows
/// the names lower-cased without the ";1" version, so USER-DATA;1 reads as user-data.
/// </summary>
public static class Iso9660Image
{
    public const int SectorSize = 2048;
    private const int PrimaryDescriptorSector = 16, TerminatorSector = 17, LPathTableSector = 18, MPathTableSector = 19, RootSector = 20;
    private const int PathTableSize = 10;

    /// <param name="volumeId">The label blkid reports (cloud-init looks for cidata).</param>
    /// <param name="files">Names as Linux will show them (lower case, no version); at most a sector of directory entries.</param>
    public static byte[] Build(string volumeId, IReadOnlyList<(string Name, byte[] Content)> files, DateTime? timestamp = null)
    {
        if (volumeId.Length is 0 or > 32) throw new ArgumentException("a volume id is 1 to 32 characters", nameof(volumeId));
        var time = timestamp ?? DateTime.UtcNow;
        var entries = files
            .Select(f => (Identifier: Identifier(f.Name), f.Content))
            .OrderBy(f => f.Identifier, StringComparer.Ordinal)       // ECMA-119 9.3: records sorted by identifier
            .ToList();
        if (entries.Select(e => e.Identifier).Distinct().Count() != entries.Count) throw new ArgumentException("two files have the same name", nameof(files));

        int next = RootSector + 1;
        var extents = new List<int>();
        foreach (var (_, content) in entries)
        {
            extents.Add(next);
            next += Math.Max(1, Sectors(content.Length));
        }
        int totalSectors = next;
        var image = new byte[totalSectors * SectorSize];

        // Root directory: ".", "..", then the files.
        var root = image.AsSpan(RootSector * SectorSize, SectorSize);
        int at = WriteRecord(root, 0, RootSector, SectorSize, directory: true, [0], time);
        at += WriteRecord(root, at, RootSector, SectorSize, directory: true, [1], time);
        for (int i = 0; i < entries.Count; i++)
        {
            byte[] id = Encoding.ASCII.GetBytes(entries[i].Identifier);
            if (at + 33 + id.Length + 1 > SectorSize) throw new ArgumentException("too many files for one directory sector", nameof(files));
            at += WriteRecord(root, at, extents[i], entries[i].Content.Length, directory: false, id, time);
            entries[i].Content.CopyTo(image.AsSpan(extents[i] * SectorSize));
        }

        WritePrimaryDescriptor(image.AsSpan(PrimaryDescriptorSector * SectorSize, SectorSize), volumeId, totalSectors, time);
        var terminator = image.AsSpan(TerminatorSector * SectorSize, SectorSize);
        terminator[0] = 255;
        "CD001"u8.CopyTo(terminator[1..]);
        terminator[6] = 1;
        WritePathTable(image.AsSpan(LPathTableSector * SectorSize, PathTableSize), bigEndian: false);
        WritePathTable(image.AsSpan(MPathTableSector * SectorSize, PathTableSize), bigEndian: true);
        return image;
    }

    private static int Sectors(int bytes) => (bytes + SectorSize - 1) / SectorSize;

    /// <summary>"user-data" → "USER-DATA;1": upper case and a version, as ISO 9660 names files.</summary>
    private static string Identifier(string name)
    {
        if (name.Length is 0 or > 30 || name.Any(c => c is < '!' or > '~' or ';' or '/'))
            throw new ArgumentException($"'{name}' is not a plain ISO 9660 file name (1 to 30 printable characters)", nameof(name));
        return name.ToUpperInvariant() + ";1";
    }

    private static int WriteRecord(Span<byte> records, int offset, int extent, int length, bool directory, ReadOnlySpan<byte> identifier, DateTime time) =>
        WriteRecordCore(records[offset..], extent, length, directory, identifier, time);

    private static int WriteRecordCore(Span<byte> record, int extent, int length, bool directory, ReadOnlySpan<byte> identifier, DateTime time)
    {
        int size = 33 + identifier.Length + (identifier.Length % 2 == 0 ? 1 : 0);  // padded to an even length
        record[0] = (byte)size;
        BothEndian32(record[2..], (uint)extent);
        BothEndian32(record[10..], (uint)length);
        record[18] = (byte)(time.Year - 1900);
        record[19] = (byte)time.Month;
        record[20] = (byte)time.Day;
        record[21] = (byte)time.Hour;
        record[22] = (byte)time.Minute;
        record[23] = (byte)time.Second;
        record[24] = 0;                                          // GMT
        record[25] = directory ? (byte)0x02 : (byte)0;
        BothEndian16(record[28..], 1);                           // volume sequence number
        record[32] = (byte)identifier.Length;
        identifier.CopyTo(record[33..]);
        return size;
    }

    private static void WritePrimaryDescriptor(Span<byte> d, string volumeId, int totalSectors, DateTime time)
    {
        d[0] = 1;
        "CD001"u8.CopyTo(d[1..]);
        d[6] = 1;
        Text(d.Slice(8, 32), "LINUX");                           // system identifier
        Text(d.Slice(40, 32), volumeId);
        BothEndian32(d[80..], (uint)totalSectors);
        BothEndian16(d[120..], 1);                               // volume set size
        BothEndian16(d[124..], 1);                               // volume sequence number
        BothEndian16(d[128..], SectorSize);
        BothEndian32(d[132..], PathTableSize);
        BinaryPrimitives.WriteUInt32LittleEndian(d[140..], LPathTableSector);
        BinaryPrimitives.WriteUInt32BigEndian(d[148..], MPathTableSector);
        WriteRecordCore(d.Slice(156, 34), RootSector, SectorSize, directory: true, [0], time);
        Text(d.Slice(190, 128), "");                             // volume set
        Text(d.Slice(318, 128), "");                             // publisher
        Text(d.Slice(446, 128), "");                             // data preparer
        Text(d.Slice(574, 128), "PODVISOR");                     // application
        Text(d.Slice(702, 37 * 3), "");                          // copyright, abstract, bibliographic files
        string stamp = time.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture) + "00";
        Text(d.Slice(813, 16), stamp);                           // created
        Text(d.Slice(830, 16), stamp);                           // modified
        Text(d.Slice(847, 16), "0000000000000000");              // expires: never
        Text(d.Slice(864, 16), "0000000000000000");              // effective: now
        d[881] = 1;                                              // file structure version
    }

    private static void WritePathTable(Span<byte> table, bool bigEndian)
    {
        table[0] = 1;                                            // identifier length (the root's is one zero byte)
        if (bigEndian)
        {
            BinaryPrimitives.WriteUInt32BigEndian(table[2..], RootSector);
            BinaryPrimitives.WriteUInt16BigEndian(table[6..], 1);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(table[2..], RootSector);
            BinaryPrimitives.WriteUInt16LittleEndian(table[6..], 1);
        }
    }

    private static void Text(Span<byte> field, string value)
    {
        field.Fill((byte)' ');
        Encoding.ASCII.GetBytes(value, field);
    }

    private static void BothEndian16(Span<byte> field, ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(field, value);
        BinaryPrimitives.WriteUInt16BigEndian(field[2..], value);
    }

    private static void BothEndian32(Span<byte> field, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(field, value);
        BinaryPrimitives.WriteUInt32BigEndian(field[4..], value);
    }
}
