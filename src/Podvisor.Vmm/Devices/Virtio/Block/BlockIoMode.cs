namespace Podvisor.Vmm.Devices.Virtio.Block;

/// <summary>How a disk's reads, writes and flushes reach the host.</summary>
public enum BlockIoMode
{
    /// <summary>On the device's I/O thread, one request at a time (the thread waits for each).</summary>
    Sync,
    /// <summary>Handed to a small pool of worker threads (QEMU's aio=threads, KubeVirt's <c>io: threads</c>).</summary>
    Threads,
    /// <summary>Submitted to the kernel in batches through io_uring (KubeVirt's <c>io: native</c>).</summary>
    IoUring,
}
