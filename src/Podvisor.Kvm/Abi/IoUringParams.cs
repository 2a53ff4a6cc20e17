using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct io_uring_params (io_uring_setup(2)): what we ask for, and where the kernel put the rings.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoUringParams
{
    public const uint FeatureSingleMmap = 1;

    public uint SqEntries;
    public uint CqEntries;
    public uint Flags;
    public uint SqThreadCpu;
    public uint SqThreadIdle;
    public uint Features;
    public uint WqFd;
    private uint _resv0, _resv1, _resv2;
    public IoUringRingOffsets SqOffsets;
    public IoUringRingOffsets CqOffsets;
}

/// <summary>struct io_sqring_offsets / io_cqring_offsets: byte offsets of each field inside a ring's mapping.
/// The SQ ring's <see cref="ArrayOrCqes"/> is its index array; the CQ ring's is its CQE array.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoUringRingOffsets
{
    public uint Head;
    public uint Tail;
    public uint RingMask;
    public uint RingEntries;
    /// <summary>sq: flags; cq: overflow.</summary>
    public uint FlagsOrOverflow;
    /// <summary>sq: dropped; cq: cqes.</summary>
    public uint DroppedOrCqes;
    /// <summary>sq: array; cq: flags.</summary>
    public uint ArrayOrFlags;
    private uint _resv1;
    private ulong _userAddr;
}
