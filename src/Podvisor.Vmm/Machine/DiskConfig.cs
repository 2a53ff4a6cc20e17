namespace Podvisor.Vmm.Machine;

/// <summary>A virtio-blk disk: a raw image file or block device, its serial, whether the guest may write it.</summary>
public sealed record DiskConfig(string Path, bool ReadOnly = false, string? Id = null);
