using Microsoft.Win32.SafeHandles;
using Podvisor.Kvm;

namespace Podvisor.Vmm.Devices.Virtio.Block;

/// <summary>
/// The host side of a virtio-blk disk: a raw image file or a block device, read and written in place
/// (through the host's page cache, like QEMU's default cache=writeback; FLUSH reaches the disk).
/// Not locked: during a live migration the source and the target both have it open.
/// </summary>
public sealed class DiskImage : IDisposable
{
    public const int SectorSize = 512;

    private DiskImage(string path, SafeFileHandle handle, bool readOnly, bool isBlockDevice, ulong size)
    {
        Path = path;
        Handle = handle;
        ReadOnly = readOnly;
        IsBlockDevice = isBlockDevice;
        Size = size;
    }

    public string Path { get; }

    public SafeFileHandle Handle { get; }

    public bool ReadOnly { get; }

    public bool IsBlockDevice { get; }

    /// <summary>Bytes the guest can reach: the file's size rounded down to whole sectors.</summary>
    public ulong Size { get; }

    public ulong Sectors => Size / SectorSize;

    /// <summary>Opens <paramref name="path"/>; a clear <see cref="ArgumentException"/> if it cannot be a disk.</summary>
    public static DiskImage Open(string path, bool readOnly)
    {
        if (Directory.Exists(path)) throw new ArgumentException($"disk {path} is a directory, not an image file or block device");
        if (!File.Exists(path)) throw new ArgumentException($"disk {path} does not exist");
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, readOnly ? FileAccess.Read : FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ArgumentException($"disk {path} cannot be opened {(readOnly ? "for reading" : "for writing (make it read-only?)")}: {e.Message}");
        }
        catch (IOException e)
        {
            throw new ArgumentException($"disk {path} cannot be opened: {e.Message}");
        }
        try
        {
            bool blockDevice = HostFiles.IsBlockDevice(handle);
            ulong size = HostFiles.SizeOf(handle) / SectorSize * SectorSize;
            if (size == 0) throw new ArgumentException($"disk {path} is empty (smaller than one {SectorSize}-byte sector)");
            return new DiskImage(path, handle, readOnly, blockDevice, size);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>preadv into several buffers, repeated for what a short read left (zeroes past the end of a short file).</summary>
    public void Read(ulong offset, IReadOnlyList<Memory<byte>> destinations)
    {
        var rest = destinations;
        while (true)
        {
            long wanted = 0;
            foreach (var d in rest) wanted += d.Length;
            if (wanted == 0) return;
            long n = RandomAccess.Read(Handle, rest, (long)offset);
            if (n == wanted) return;
            if (n == 0)
            {
                foreach (var d in rest) d.Span.Clear();      // end of file
                return;
            }
            offset += (ulong)n;
            rest = Skip(rest, n);
        }
    }

    /// <summary>The buffers after their first <paramref name="n"/> bytes.</summary>
    public static List<Memory<byte>> Skip(IReadOnlyList<Memory<byte>> buffers, long n) =>
        Skip(buffers, n, b => b.Length, (b, from) => b[from..]);

    /// <inheritdoc cref="Skip(IReadOnlyList{Memory{byte}}, long)"/>
    public static List<ReadOnlyMemory<byte>> Skip(IReadOnlyList<ReadOnlyMemory<byte>> buffers, long n) =>
        Skip(buffers, n, b => b.Length, (b, from) => b[from..]);

    private static List<T> Skip<T>(IReadOnlyList<T> buffers, long n, Func<T, int> length, Func<T, int, T> sliceFrom)
    {
        var rest = new List<T>(buffers.Count);
        foreach (var b in buffers)
        {
            if (n >= length(b)) n -= length(b);
            else
            {
                rest.Add(sliceFrom(b, (int)n));
                n = 0;
            }
        }
        return rest;
    }

    /// <summary>pwritev from several buffers (repeated for what a short write left).</summary>
    public void Write(ulong offset, IReadOnlyList<ReadOnlyMemory<byte>> sources) => RandomAccess.Write(Handle, sources, (long)offset);

    public void Flush() => RandomAccess.FlushToDisk(Handle);

    public void Discard(ulong offset, ulong length) => HostFiles.Discard(Handle, offset, length);

    public void Dispose() => Handle.Dispose();
}
