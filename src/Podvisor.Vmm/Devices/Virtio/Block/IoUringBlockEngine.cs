using System.Runtime.InteropServices;
using Podvisor.Kvm;

namespace Podvisor.Vmm.Devices.Virtio.Block;

/// <summary>
/// Submits requests to the kernel through io_uring: a batch of reads and writes goes in with one
/// io_uring_enter, the kernel signals an eventfd as they finish. A short transfer (the file shrank under
/// us) finishes the rest synchronously, as <see cref="DiskImage.Read"/> does.
/// </summary>
public sealed class IoUringBlockEngine : IBlockIoEngine
{
    private readonly DiskImage _disk;
    private readonly IoUring _ring;
    private readonly EventFd _completions = new(nonBlocking: true);
    private readonly BlockRequest?[] _bySlot;
    private readonly (int Slot, int Result)[] _taken = new (int, int)[64];

    public IoUringBlockEngine(DiskImage disk, int slots)
    {
        _disk = disk;
        _ring = new IoUring((uint)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)slots));
        try
        {
            _ring.SignalCompletions(_completions);
            // As many blocking requests in the kernel at once as QEMU's thread pool runs (measured: docs/virtio.md).
            _ring.LimitBlockingWorkers(ThreadPoolBlockEngine.MaxWorkers);
        }
        catch
        {
            _ring.Dispose();
            _completions.Dispose();
            throw;
        }
        _bySlot = new BlockRequest?[_ring.Entries];
    }

    public SafeHandle? Completions => _completions.Handle;

    public int InFlight => _ring.InFlight;

    public void Submit(BlockRequest request)
    {
        _bySlot[request.Slot] = request;
        switch (request.Type)
        {
            case BlockRequestType.In: _ring.QueueRead(request.Slot, _disk.Handle, request.Offset, request.ReadBuffers); break;
            case BlockRequestType.Out: _ring.QueueWrite(request.Slot, _disk.Handle, request.Offset, request.WriteBuffers); break;
            case BlockRequestType.Flush: _ring.QueueFsync(request.Slot, _disk.Handle); break;
            default: throw new InvalidOperationException($"block request type {request.Type} is not host I/O");
        }
    }

    public void Kick() => _ring.Submit();

    public void TakeFinished(List<BlockRequest> finished)
    {
        _completions.Read();
        int n;
        while ((n = _ring.TakeCompletions(_taken)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                var (slot, result) = _taken[i];
                var request = _bySlot[slot]!;
                _bySlot[slot] = null;
                Complete(request, result);
                finished.Add(request);
            }
        }
    }

    private void Complete(BlockRequest request, int result)
    {
        if (result < 0)
        {
            request.Succeeded = false;
            return;
        }
        if (request.Type == BlockRequestType.Flush || result == request.Length)
        {
            request.Succeeded = true;
            return;
        }
        // Short: carry on from where the kernel stopped, synchronously (rare: the file changed size).
        try
        {
            if (request.Type == BlockRequestType.In) _disk.Read(request.Offset + (ulong)result, DiskImage.Skip(request.ReadBuffers, result));
            else _disk.Write(request.Offset + (ulong)result, DiskImage.Skip(request.WriteBuffers, result));
            request.Succeeded = true;
        }
        catch (IOException)
        {
            request.Succeeded = false;
        }
    }

    public void Drain()
    {
        _ring.Submit();
        // Completions stay in the ring until taken; wait until all in flight have been posted.
        _ring.Wait(_ring.InFlight);
    }

    public void Dispose()
    {
        _ring.Dispose();
        _completions.Dispose();
    }
}
