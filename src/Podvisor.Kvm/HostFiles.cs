using System.Text;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace Podvisor.Kvm;

/// <summary>File facts and operations .NET does not expose on Linux: socket and block-device tests, a block
/// device's size, discarding a range of a disk image.</summary>
public static unsafe class HostFiles
{
    /// <summary>True when <paramref name="path"/> itself (not a link's target) is a Unix socket.</summary>
    public static bool IsUnixSocket(string path)
    {
        byte[] name = Encoding.UTF8.GetBytes(path + "\0");
        stat info;
        fixed (byte* p = name)
        {
            // SAFETY: p is a NUL-terminated path pinned for the call; info is a local the call fills.
            if (LibC.lstat(p, &info) != 0) return false;
        }
        return LibC.S_ISSOCK(info.st_mode);
    }

    private const uint BlkGetSize64 = 0x8008_1272, BlkDiscard = 0x1277;

    /// <summary>True when the open file is a block device (a raw disk, a partition, an LVM volume).</summary>
    public static bool IsBlockDevice(SafeFileHandle file)
    {
        stat info;
        using var lease = new HandleLease(file);
        // SAFETY: info is a local the call fills.
        if (LibC.fstat(lease.Fd, &info) != 0) throw new KvmException("fstat", LibC.errno);
        return LibC.S_ISBLK(info.st_mode);
    }

    /// <summary>Size in bytes of a file or block device (fstat reports 0 for block devices).</summary>
    public static ulong SizeOf(SafeFileHandle file)
    {
        if (!IsBlockDevice(file)) return (ulong)RandomAccess.GetLength(file);
        ulong size = 0;
        using var lease = new HandleLease(file);
        // SAFETY: BLKGETSIZE64 writes one u64 into the local.
        if (LibC.ioctl(lease.Fd, unchecked((int)BlkGetSize64), &size) != 0) throw new KvmException("BLKGETSIZE64", LibC.errno);
        return size;
    }

    /// <summary>
    /// Gives back the storage behind [offset, offset+length) and makes it read as zeroes: a hole punched in
    /// an image file (its size kept), BLKDISCARD on a block device.
    /// </summary>
    public static void Discard(SafeFileHandle file, ulong offset, ulong length)
    {
        if (length == 0) return;
        if (IsBlockDevice(file))
        {
            ulong* range = stackalloc ulong[2] { offset, length };
            using var device = new HandleLease(file);
            // SAFETY: BLKDISCARD reads two u64s (start, length) from range.
            if (LibC.ioctl(device.Fd, unchecked((int)BlkDiscard), range) != 0) throw new KvmException("BLKDISCARD", LibC.errno);
            return;
        }
        int mode = LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE;
        using var lease = new HandleLease(file);
        if (LibC.fallocate(lease.Fd, mode, (long)offset, (long)length) != 0) throw new KvmException("fallocate(PUNCH_HOLE)", LibC.errno);
    }
}
