namespace Podvisor.Vmm.Virtio;

/// <summary>Why a descriptor chain (or an available-ring entry) offered by the driver was refused.</summary>
public enum ChainError
{
    /// <summary>The available ring named a descriptor beyond the queue size.</summary>
    HeadOutOfRange,
    /// <summary>A descriptor's next index lies beyond its table.</summary>
    NextOutOfRange,
    /// <summary>More descriptors than the table holds: the chain loops.</summary>
    ChainTooLong,
    /// <summary>A descriptor (or indirect table) is not inside guest RAM.</summary>
    DescriptorOutOfRange,
    /// <summary>A buffer is not (wholly) inside guest RAM.</summary>
    BufferOutOfRange,
    ZeroLengthBuffer,
    /// <summary>A device-readable buffer after a device-writable one (the spec's order is readable first).</summary>
    ReadableAfterWritable,
    /// <summary>An indirect descriptor inside an indirect table.</summary>
    NestedIndirect,
    /// <summary>An indirect descriptor with NEXT set (forbidden by the spec).</summary>
    IndirectWithNext,
    /// <summary>An indirect descriptor although the driver did not negotiate indirect descriptors.</summary>
    IndirectNotNegotiated,
    /// <summary>An indirect table whose length is zero or not a multiple of 16 bytes.</summary>
    BadIndirectLength,
    /// <summary>The buffers add up to more than 4 GiB.</summary>
    ChainTooLarge,
    /// <summary>The available index moved further than the queue size: the driver's ring is corrupt.</summary>
    AvailIndexJump,
    /// <summary>The chain is well formed but not what the device expects (a request too short, buffers missing).</summary>
    BadRequest,
    /// <summary>The driver offered a head again while the device still works on it (it may only reuse what was used).</summary>
    HeadInFlight,
}
