using System.Text;
using Tmds.Linux;

namespace Podvisor.Kvm;

/// <summary>
/// A TAP interface (/dev/net/tun, IFF_TAP) carrying Ethernet frames with a 12-byte virtio-net header in
/// front (IFF_VNET_HDR): exactly what virtio-net's queues hold, so frames pass between the guest and the
/// host's network stack with checksum and segmentation offloads intact. Non-blocking: the device's I/O
/// thread waits for it with epoll.
/// </summary>
public sealed unsafe class Tap : IDisposable
{
    public const int VnetHeaderSize = 12;
    public const uint OffloadChecksum = 0x01, OffloadTso4 = 0x02, OffloadTso6 = 0x04, OffloadTsoEcn = 0x08;
    private const uint TunSetIff = 0x4004_54ca, TunSetOffload = 0x4004_54d0, TunSetVnetHdrSz = 0x4004_54d8;
    private const short IffTap = 0x0002, IffNoPi = 0x1000, IffVnetHdr = 0x4000;
    private const int IfNameSize = 16;

    private Tap(KvmFileDescriptor handle, string name)
    {
        Handle = handle;
        Name = name;
    }

    public KvmFileDescriptor Handle { get; }

    /// <summary>The interface's name (the kernel's choice when none was asked for).</summary>
    public string Name { get; }

    /// <summary>Creates the TAP interface <paramref name="name"/>, or attaches to it if it exists (needs CAP_NET_ADMIN,
    /// or ownership of a persistent tap). An empty name lets the kernel pick one (tapN).</summary>
    public static Tap Open(string name)
    {
        if (Encoding.ASCII.GetByteCount(name) >= IfNameSize) throw new ArgumentException($"interface name '{name}' is longer than {IfNameSize - 1} characters");
        var handle = Interop.Native.Open("/dev/net/tun", LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        try
        {
            byte* ifreq = stackalloc byte[40];
            new Span<byte>(ifreq, 40).Clear();
            Encoding.ASCII.GetBytes(name, new Span<byte>(ifreq, IfNameSize - 1));
            *(short*)(ifreq + IfNameSize) = IffTap | IffNoPi | IffVnetHdr;
            // SAFETY: TUNSETIFF reads and writes a 40-byte struct ifreq (name, then flags).
            Interop.Native.Ioctl(handle, TunSetIff, ifreq);
            string actual = Encoding.ASCII.GetString(new ReadOnlySpan<byte>(ifreq, IfNameSize)).TrimEnd('\0');
            int headerSize = VnetHeaderSize;
            // SAFETY: TUNSETVNETHDRSZ reads one int.
            Interop.Native.Ioctl(handle, TunSetVnetHdrSz, &headerSize);
            return new Tap(handle, actual);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Which offloads the host may hand us (what the guest said it can take): TUN_F_* bits.</summary>
    public void SetOffload(uint flags) => Interop.Native.Ioctl(Handle, TunSetOffload, flags);

    /// <summary>Reads one frame (header + Ethernet frame); 0 when none is waiting.</summary>
    public int Read(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            // SAFETY: p covers buffer.Length bytes for the call.
            long n = LibC.read(Handle.Fd, p, buffer.Length);
            if (n >= 0) return (int)n;
            int errno = LibC.errno;
            if (errno == Errnos.EAGAIN || errno == Errnos.EINTR) return 0;
            throw new KvmException($"read({Name})", errno);
        }
    }

    /// <summary>Sends one frame (header + Ethernet frame). False if the interface's queue is full (dropped, as a
    /// NIC drops under pressure) or the interface is down.</summary>
    public bool Write(ReadOnlySpan<byte> frame)
    {
        fixed (byte* p = frame)
        {
            // SAFETY: p covers frame.Length bytes for the call.
            long n = LibC.write(Handle.Fd, p, frame.Length);
            if (n >= 0) return true;
            int errno = LibC.errno;
            if (errno is Errnos.EAGAIN or Errnos.EIO) return false;
            throw new KvmException($"write({Name})", errno);
        }
    }

    public void Dispose() => Handle.Dispose();
}
