namespace Podvisor.Vmm.Memory;

/// <summary>A guest-physical range that is not (wholly) RAM.</summary>
public sealed class GuestMemoryException(GuestAddress address, ulong length, GuestAddress end)
    : Exception($"guest range [{address}, +0x{length:x}) is outside guest RAM (which ends at {end})")
{
    public GuestAddress Address { get; } = address;
    public ulong Length { get; } = length;
}
