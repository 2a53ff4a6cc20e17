using System.Runtime.InteropServices;
using Podvisor.Kvm;

namespace Podvisor.Vmm.Devices.Virtio.Net;

/// <summary>virtio-net over a host TAP interface.</summary>
public sealed class TapBackend(Tap tap) : INetBackend
{
    public Tap Tap => tap;

    public SafeHandle Handle => tap.Handle;

    public int Read(Span<byte> buffer) => tap.Read(buffer);

    public bool Write(ReadOnlySpan<byte> frame) => tap.Write(frame);

    public void SetOffload(uint tunFlags) => tap.SetOffload(tunFlags);

    public void Dispose() => tap.Dispose();
}
