namespace Podvisor.Vmm.Devices.Virtio.Block;

/// <summary>
/// A read, write or flush on its way to the host: where it goes, the guest buffers it moves (zero-copy
/// views of guest RAM), and what to tell the driver when it finishes (the chain, the used length, the
/// status byte's place). Reused: one per descriptor head, since a head is in flight at most once.
/// </summary>
public sealed class BlockRequest
{
    public BlockRequest(int slot) => Slot = slot;

    /// <summary>The chain's head index: the request's number while in flight.</summary>
    public int Slot { get; }

    /// <summary><see cref="BlockRequestType.In"/>, <see cref="BlockRequestType.Out"/> or <see cref="BlockRequestType.Flush"/>.</summary>
    public uint Type { get; private set; }

    /// <summary>Byte offset on the disk.</summary>
    public ulong Offset { get; private set; }

    /// <summary>Where a read lands.</summary>
    public List<Memory<byte>> ReadBuffers { get; } = [];

    /// <summary>What a write stores.</summary>
    public List<ReadOnlyMemory<byte>> WriteBuffers { get; } = [];

    /// <summary>Bytes moved when it succeeds.</summary>
    public uint Length { get; private set; }

    /// <summary>The status byte in the guest's last writable buffer.</summary>
    public Memory<byte> Status { get; set; }

    /// <summary>The length reported in the used ring.</summary>
    public uint UsedLength { get; set; }

    /// <summary>Between <see cref="Begin"/> and <see cref="Clear"/>: the host has it, or its answer is not yet given.</summary>
    public bool InFlight { get; private set; }

    /// <summary>Set by the engine: whether the host did it all.</summary>
    public bool Succeeded { get; set; }

    public void Begin(uint type, ulong offset, uint length)
    {
        Type = type;
        Offset = offset;
        Length = length;
        InFlight = true;
        ReadBuffers.Clear();
        WriteBuffers.Clear();
        Succeeded = false;
    }

    /// <summary>Does the request synchronously on <paramref name="disk"/>; host I/O errors make it fail.</summary>
    public void Execute(DiskImage disk)
    {
        try
        {
            switch (Type)
            {
                case BlockRequestType.In: disk.Read(Offset, ReadBuffers); break;
                case BlockRequestType.Out: disk.Write(Offset, WriteBuffers); break;
                case BlockRequestType.Flush: disk.Flush(); break;
                default: throw new InvalidOperationException($"block request type {Type} is not host I/O");
            }
            Succeeded = true;
        }
        catch (IOException)
        {
            Succeeded = false;
        }
    }

    /// <summary>Lets go of the guest buffers (they are views of guest RAM).</summary>
    public void Clear()
    {
        ReadBuffers.Clear();
        WriteBuffers.Clear();
        Status = default;
        InFlight = false;
    }
}
