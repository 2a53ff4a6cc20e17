using System.Runtime.InteropServices;
using Podvisor.Kvm;
using Podvisor.Vmm.Devices.Virtio.Net;

namespace Podvisor.Vmm.Tests.Virtio;

/// <summary>Frames in and out of memory instead of a TAP.</summary>
internal sealed class FakeNetBackend : INetBackend
{
    private readonly EventFd _readable = new();

    public Queue<byte[]> Incoming { get; } = new();
    public List<byte[]> Sent { get; } = [];
    public uint? Offload { get; private set; }
    public bool RefuseWrites { get; set; }

    public SafeHandle Handle => _readable.Handle;

    public int Read(Span<byte> buffer)
    {
        if (!Incoming.TryDequeue(out var frame)) return 0;
        frame.CopyTo(buffer);
        return frame.Length;
    }

    public bool Write(ReadOnlySpan<byte> frame)
    {
        if (RefuseWrites) return false;
        Sent.Add(frame.ToArray());
        return true;
    }

    public void SetOffload(uint tunFlags) => Offload = tunFlags;

    public void Dispose() => _readable.Dispose();

    /// <summary>A frame as a TAP delivers it: a zeroed 12-byte virtio-net header, then <paramref name="length"/> payload bytes.</summary>
    public static byte[] Frame(int length, byte seed)
    {
        var frame = new byte[VirtioNet.HeaderSize + length];
        for (int i = 0; i < length; i++) frame[VirtioNet.HeaderSize + i] = (byte)(seed + i);
        return frame;
    }
}
