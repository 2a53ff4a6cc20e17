using System.Runtime.InteropServices;

namespace Podvisor.Vmm.Devices.Virtio.Block;

/// <summary>Does each request on the calling thread as it is submitted.</summary>
public sealed class SyncBlockEngine(DiskImage disk) : IBlockIoEngine
{
    private readonly List<BlockRequest> _finished = [];

    public SafeHandle? Completions => null;

    public int InFlight => _finished.Count;

    public void Submit(BlockRequest request)
    {
        request.Execute(disk);
        _finished.Add(request);
    }

    public void Kick()
    {
    }

    public void TakeFinished(List<BlockRequest> finished)
    {
        finished.AddRange(_finished);
        _finished.Clear();
    }

    public void Drain()
    {
    }

    public void Dispose()
    {
    }
}
