using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Virtio;

/// <summary>One buffer of a descriptor chain, already checked to lie inside guest RAM.</summary>
public readonly record struct GuestBuffer(GuestAddress Address, uint Length, bool IsWritable);
