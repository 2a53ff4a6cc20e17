using System.Net.Sockets;

namespace Podvisor.Vmm.Devices.Virtio.Vsock;

/// <summary>
/// One stream between a guest port and a host Unix socket, with virtio-vsock's credit accounting: the guest
/// may send us at most the buffer space we advertise beyond what we forwarded; we may send it at most
/// what it advertised beyond what it consumed.
/// </summary>
internal sealed class VsockConnection(Socket socket, uint guestPort, uint hostPort, VsockConnectionState state)
{
    /// <summary>Receive space we advertise to the guest per connection.</summary>
    public const uint BufferSize = 256 * 1024;

    public Socket Socket { get; } = socket;
    public uint GuestPort { get; set; } = guestPort;
    public uint HostPort { get; } = hostPort;
    public VsockConnectionState State { get; set; } = state;

    /// <summary>Bytes from the guest not yet written to the host socket (it would have blocked).</summary>
    public Queue<byte[]> ToHost { get; } = new();
    public int ToHostBytes { get; set; }
    /// <summary>How much of the first <see cref="ToHost"/> chunk is already written.</summary>
    public int ToHostOffset { get; set; }

    /// <summary>The guest's SHUTDOWN flags so far.</summary>
    public uint GuestShutdown { get; set; }
    /// <summary>The host socket's write side is shut (the guest sends no more).</summary>
    public bool HostWriteShut { get; set; }

    /// <summary>The "CONNECT port\n" line read so far from a host-initiated connection.</summary>
    public List<byte> ConnectLine { get; } = [];

    /// <summary>Bytes of guest data we passed on to the host socket (our fwd_cnt).</summary>
    public uint ForwardCount { get; set; }
    /// <summary>Our fwd_cnt when the guest last heard it.</summary>
    public uint ForwardCountSent { get; set; }

    /// <summary>Bytes we sent the guest (our rx_cnt).</summary>
    public uint SentToGuest { get; set; }
    public uint PeerBufAlloc { get; set; }
    public uint PeerFwdCnt { get; set; }

    /// <summary>Host data read for the guest but not yet placed in a receive buffer.</summary>
    public byte[]? ToGuestPending { get; set; }

    /// <summary>The host side reached end of stream (the guest has been told).</summary>
    public bool HostClosed { get; set; }
}
