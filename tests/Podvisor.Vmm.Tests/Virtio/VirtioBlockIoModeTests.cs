using Podvisor.Vmm.Devices.Virtio.Block;

namespace Podvisor.Vmm.Tests.Virtio;

public sealed class VirtioBlockSyncTests : VirtioBlockTests
{
    protected override BlockIoMode Mode => BlockIoMode.Sync;
}

public sealed class VirtioBlockThreadsTests : VirtioBlockTests
{
    protected override BlockIoMode Mode => BlockIoMode.Threads;
}

public sealed class VirtioBlockIoUringTests : VirtioBlockTests
{
    protected override BlockIoMode Mode => BlockIoMode.IoUring;
}
