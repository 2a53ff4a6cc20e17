namespace Podvisor.Kvm;

/// <summary>A guest-physical range backed by part of a <see cref="HostMemory"/> mapping.</summary>
/// <param name="Slot">KVM slot number (address space 0).</param>
/// <param name="GuestAddress">First guest-physical byte; page aligned.</param>
/// <param name="Memory">The host mapping that backs the range.</param>
/// <param name="MemoryOffset">Offset of the range inside <paramref name="Memory"/>; page aligned.</param>
/// <param name="Size">Length in bytes; page aligned; 0 deletes the slot.</param>
/// <param name="Flags">Dirty logging, read-only.</param>
public sealed record MemorySlot(uint Slot, ulong GuestAddress, HostMemory Memory, ulong MemoryOffset, ulong Size,
    MemorySlotFlags Flags = MemorySlotFlags.None)
{
    public const ulong PageSize = 4096;

    public ulong PageCount => Size / PageSize;

    public ulong GuestEnd => GuestAddress + Size;
}
