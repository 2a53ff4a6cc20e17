using System.Runtime.InteropServices;

namespace Podvisor.Vmm.Devices.Virtio.Block;

/// <summary>
/// Carries a disk's requests to the host and reports them finished. Used by one thread at a time (the
/// device's I/O thread, or whoever holds the transport's lock); finished requests are collected with
/// <see cref="TakeFinished"/> on that thread, so the device alone touches its queue.
/// </summary>
public interface IBlockIoEngine : IDisposable
{
    /// <summary>Readable when requests have finished (null: they finish inside <see cref="Submit"/>).</summary>
    SafeHandle? Completions { get; }

    /// <summary>Requests submitted and not yet taken back.</summary>
    int InFlight { get; }

    /// <summary>Starts <paramref name="request"/> (it may wait for <see cref="Kick"/>).</summary>
    void Submit(BlockRequest request);

    /// <summary>Starts everything submitted since the last kick (one batch).</summary>
    void Kick();

    /// <summary>Moves requests that have finished into <paramref name="finished"/>; never blocks. Resets
    /// <see cref="Completions"/> first: a request finishing meanwhile signals it again, and the ones taken here
    /// do not wake the caller a second time.</summary>
    void TakeFinished(List<BlockRequest> finished);

    /// <summary>Blocks until every request in flight has finished (they are then taken as usual).</summary>
    void Drain();
}
