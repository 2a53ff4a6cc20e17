using System.Runtime.InteropServices;

namespace Podvisor.Vmm.Devices.Virtio.Vsock;

/// <summary>The 44-byte header of every virtio-vsock packet (virtio 1.2 §5.10.6), little endian.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public record struct VsockHeader(
    ulong SrcCid, ulong DstCid, uint SrcPort, uint DstPort, uint Len, ushort Type, ushort Op, uint Flags, uint BufAlloc, uint FwdCnt)
{
    public const int Size = 44;
    public const ushort TypeStream = 1;
    public const ushort OpRequest = 1, OpResponse = 2, OpRst = 3, OpShutdown = 4, OpRw = 5, OpCreditUpdate = 6, OpCreditRequest = 7;
    public const uint ShutdownReceive = 1, ShutdownSend = 2;
}
