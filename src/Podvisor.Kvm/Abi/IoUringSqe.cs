using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct io_uring_sqe (64 bytes), the fields the vectored read/write and fsync operations use.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct IoUringSqe
{
    public const byte OpReadv = 1, OpWritev = 2, OpFsync = 3;

    [FieldOffset(0)] public byte Opcode;
    [FieldOffset(1)] public byte Flags;
    [FieldOffset(2)] public ushort IoPriority;
    [FieldOffset(4)] public int Fd;
    [FieldOffset(8)] public ulong Offset;
    [FieldOffset(16)] public ulong Address;
    [FieldOffset(24)] public uint Length;
    /// <summary>rw_flags / fsync_flags.</summary>
    [FieldOffset(28)] public uint OpFlags;
    [FieldOffset(32)] public ulong UserData;
}

/// <summary>struct io_uring_cqe: which request (user_data) and its result (bytes, or -errno).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoUringCqe
{
    public ulong UserData;
    public int Result;
    public uint Flags;
}
