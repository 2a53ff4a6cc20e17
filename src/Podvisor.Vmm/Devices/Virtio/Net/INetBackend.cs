using System.Runtime.InteropServices;

namespace Podvisor.Vmm.Devices.Virtio.Net;

/// <summary>
/// Where virtio-net frames go: each frame is a 12-byte virtio-net header followed by the Ethernet frame,
/// the format of a TAP opened with IFF_VNET_HDR. Tests use an in-memory backend.
/// </summary>
public interface INetBackend : IDisposable
{
    /// <summary>The descriptor the device's I/O thread waits on for received frames (edge-triggered).</summary>
    SafeHandle Handle { get; }

    /// <summary>Reads one frame; 0 when none is waiting.</summary>
    int Read(Span<byte> buffer);

    /// <summary>Sends one frame; false if it was dropped.</summary>
    bool Write(ReadOnlySpan<byte> frame);

    /// <summary>The offloads the guest accepts on receive (TUN_F_* bits).</summary>
    void SetOffload(uint tunFlags);
}
