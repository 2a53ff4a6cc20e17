using Podvisor.Vmm.Devices.Virtio.Block;

namespace Podvisor.Vmm.Machine;

/// <summary>A virtio-blk disk: a raw image file or block device, its serial, whether the guest may write it,
/// and how its I/O reaches the host (null: <see cref="VirtioBlock.DefaultIoMode"/>).</summary>
public sealed record DiskConfig(string Path, bool ReadOnly = false, string? Id = null, BlockIoMode? Io = null);
