using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Podvisor.Vmm.Devices.Virtio.Vsock;
using Podvisor.Vmm.Memory;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Tests.Virtio;

/// <summary>virtio-vsock between a fake guest driver and real host Unix sockets.</summary>
public sealed class VirtioVsockTests : IDisposable
{
    private const ulong GuestCid = 42;
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-vsock-").FullName;
    private readonly GuestRam _ram = new(4 << 20);
    private readonly VirtioVsock _vsock;
    private readonly VirtioMmioTransport _transport;
    private readonly FakeDriver _rx, _tx, _event;
    private ulong _nextRxBuffer = 0x10_0000;
    private readonly Dictionary<ushort, ulong> _rxBufferOf = [];

    public VirtioVsockTests()
    {
        _vsock = new VirtioVsock(GuestCid, Path.Combine(_dir, "v.sock"));
        _transport = new VirtioMmioTransport(_vsock, _ram, new CountingInterrupt());
        _rx = new FakeDriver(_ram, 256, 0x1000, 0x2000, 0x3000);
        _tx = new FakeDriver(_ram, 64, 0x4000, 0x5000, 0x6000);
        _event = new FakeDriver(_ram, 64, 0x7000, 0x8000, 0x9000);
        Assert.True(_transport.Negotiate(_transport.ReadDeviceFeatures()));
        _transport.SetUpQueue(0, _rx);
        _transport.SetUpQueue(1, _tx);
        _transport.SetUpQueue(2, _event);
        _transport.DriverOk();
    }

    public void Dispose()
    {
        _vsock.Dispose();
        _ram.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Offers the device receive buffers as Linux does: a header buffer and a 4 KiB data buffer.</summary>
    private void PostRxBuffers(int count)
    {
        for (int i = 0; i < count; i++)
        {
            ushort head = _rx.AddChain((_nextRxBuffer, VsockHeader.Size, true), (_nextRxBuffer + 0x100, 4096, true));
            _rxBufferOf[head] = _nextRxBuffer;
            _nextRxBuffer = _nextRxBuffer >= 0x30_0000 ? 0x10_0000 : _nextRxBuffer + 0x2000;
        }
        _transport.Notify(VirtioVsock.RxQueue);
    }

    /// <summary>The packets the device put in the receive buffers since the last call.</summary>
    private List<(VsockHeader Header, byte[] Payload)> Received()
    {
        var packets = new List<(VsockHeader, byte[])>();
        foreach (var (head, length) in _rx.TakeUsed())
        {
            ulong at = _rxBufferOf[head];
            var header = _ram.ReadValue<VsockHeader>(new GuestAddress(at));
            var payload = _ram.GetReadOnlySpan(new GuestAddress(at + 0x100), (int)(length - VsockHeader.Size)).ToArray();
            packets.Add((header, payload));
        }
        return packets;
    }

    private void GuestSends(VsockHeader header, byte[]? payload = null)
    {
        payload ??= [];
        header = header with { SrcCid = GuestCid, DstCid = VirtioVsock.HostCid, Type = VsockHeader.TypeStream, Len = (uint)payload.Length, BufAlloc = 64 * 1024 };
        _ram.WriteValue(new GuestAddress(0x38_0000), header);
        _ram.Write(new GuestAddress(0x38_0100), payload);
        if (payload.Length > 0) _tx.AddChain((0x38_0000, VsockHeader.Size, false), (0x38_0100, (uint)payload.Length, false));
        else _tx.AddChain((0x38_0000, VsockHeader.Size, false));
        _transport.Notify(VirtioVsock.TxQueue);
    }

    private void Poll() => _transport.ProcessBackend(0);

    private static string ReadLine(Socket socket)
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (socket.Receive(one) == 1 && one[0] != '\n') line.Add(one[0]);
        return Encoding.ASCII.GetString([.. line]);
    }

    private Socket ConnectFromHost(uint guestPort)
    {
        var host = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        host.Connect(new UnixDomainSocketEndPoint(_vsock.SocketPath));
        host.Send(Encoding.ASCII.GetBytes($"CONNECT {guestPort}\n"));
        host.ReceiveTimeout = 5000;
        return host;
    }

    private static void Eventually(Func<bool> condition, Action poll)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            poll();
            Thread.Sleep(10);
        }
    }

    [Fact]
    public void HeaderIsFortyFourBytes() => Assert.Equal(VsockHeader.Size, Marshal.SizeOf<VsockHeader>());

    [Fact]
    public void ConfigurationCarriesTheGuestCid()
    {
        var cid = new byte[8];
        _transport.Read(MmioRegisters.Config, cid);
        Assert.Equal(GuestCid, BitConverter.ToUInt64(cid));
    }

    [Fact]
    public void AHostProgramConnectsToAGuestPortAndTheyTalk()
    {
        PostRxBuffers(8);
        using var host = ConnectFromHost(5000);
        List<(VsockHeader Header, byte[] Payload)> packets = [];
        Eventually(() => (packets = Received()).Count > 0, Poll);
        var request = Assert.Single(packets).Header;
        Assert.Equal(VsockHeader.OpRequest, request.Op);
        Assert.Equal(5000u, request.DstPort);
        Assert.Equal(GuestCid, request.DstCid);

        // The guest accepts: the host program hears OK with its port.
        GuestSends(new VsockHeader { Op = VsockHeader.OpResponse, SrcPort = 5000, DstPort = request.SrcPort });
        Assert.Equal($"OK {request.SrcPort}", ReadLine(host));

        host.Send("ping from host"u8.ToArray());
        Eventually(() => (packets = Received()).Count > 0, Poll);
        var data = Assert.Single(packets);
        Assert.Equal(VsockHeader.OpRw, data.Header.Op);
        Assert.Equal("ping from host", Encoding.ASCII.GetString(data.Payload));

        GuestSends(new VsockHeader { Op = VsockHeader.OpRw, SrcPort = 5000, DstPort = request.SrcPort }, "pong from guest"u8.ToArray());
        var buffer = new byte[64];
        int n = host.Receive(buffer);
        Assert.Equal("pong from guest", Encoding.ASCII.GetString(buffer, 0, n));
        Assert.Equal(14, _vsock.BytesToGuest);
        Assert.Equal(15, _vsock.BytesToHost);

        // The host closes: the guest hears it sends no more; the guest's full shutdown ends the stream.
        host.Shutdown(SocketShutdown.Send);
        Eventually(() => (packets = Received()).Count > 0, Poll);
        var shutdown = Assert.Single(packets).Header;
        Assert.Equal(VsockHeader.OpShutdown, shutdown.Op);
        Assert.Equal(VsockHeader.ShutdownSend, shutdown.Flags);
        GuestSends(new VsockHeader { Op = VsockHeader.OpShutdown, SrcPort = 5000, DstPort = request.SrcPort, Flags = VsockHeader.ShutdownSend | VsockHeader.ShutdownReceive });
        Assert.Equal(0, host.Receive(buffer));            // end of stream
        Assert.Equal(VsockHeader.OpRst, Assert.Single(Received()).Header.Op);
        Assert.Equal(0, _vsock.OpenConnections);
    }

    [Fact]
    public void AGuestConnectsToAHostListener()
    {
        PostRxBuffers(8);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(_vsock.SocketPath + "_6000"));
        listener.Listen(1);
        GuestSends(new VsockHeader { Op = VsockHeader.OpRequest, SrcPort = 1234, DstPort = 6000 });
        var response = Assert.Single(Received()).Header;
        Assert.Equal(VsockHeader.OpResponse, response.Op);
        Assert.Equal((1234u, 6000u), (response.DstPort, response.SrcPort));
        using var accepted = listener.Accept();
        GuestSends(new VsockHeader { Op = VsockHeader.OpRw, SrcPort = 1234, DstPort = 6000 }, "hello host"u8.ToArray());
        var buffer = new byte[64];
        Assert.Equal("hello host", Encoding.ASCII.GetString(buffer, 0, accepted.Receive(buffer)));
        accepted.Send("hello guest"u8.ToArray());
        List<(VsockHeader Header, byte[] Payload)> packets = [];
        Eventually(() => (packets = Received()).Count > 0, Poll);
        Assert.Equal("hello guest", Encoding.ASCII.GetString(Assert.Single(packets).Payload));
    }

    [Fact]
    public void AGuestConnectingToAPortNobodyListensOnIsReset()
    {
        PostRxBuffers(2);
        GuestSends(new VsockHeader { Op = VsockHeader.OpRequest, SrcPort = 1234, DstPort = 7000 });
        var reset = Assert.Single(Received()).Header;
        Assert.Equal(VsockHeader.OpRst, reset.Op);
        Assert.Equal(1234u, reset.DstPort);
        Assert.Equal(1, _vsock.RefusedConnections);
    }

    [Fact]
    public void TheGuestRefusingAHostConnectionClosesIt()
    {
        PostRxBuffers(2);
        using var host = ConnectFromHost(5000);
        List<(VsockHeader Header, byte[] Payload)> packets = [];
        Eventually(() => (packets = Received()).Count > 0, Poll);
        GuestSends(new VsockHeader { Op = VsockHeader.OpRst, SrcPort = 5000, DstPort = packets[0].Header.SrcPort });
        Assert.Equal(0, host.Receive(new byte[8]));
        Assert.Equal(1, _vsock.RefusedConnections);
    }

    [Fact]
    public void ABadConnectLineIsRefused()
    {
        using var host = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        host.Connect(new UnixDomainSocketEndPoint(_vsock.SocketPath));
        host.Send("HELLO\n"u8.ToArray());
        host.ReceiveTimeout = 5000;
        Eventually(() => _vsock.RefusedConnections == 1, Poll);
        Assert.Equal(0, host.Receive(new byte[8]));
    }

    [Fact]
    public void TheHostSendsNoMoreThanTheGuestHasRoomFor()
    {
        PostRxBuffers(40);
        using var host = ConnectFromHost(5000);
        List<(VsockHeader Header, byte[] Payload)> packets = [];
        Eventually(() => (packets = Received()).Count > 0, Poll);
        uint hostPort = packets[0].Header.SrcPort;
        // The guest advertises 64 KiB and consumes nothing.
        GuestSends(new VsockHeader { Op = VsockHeader.OpResponse, SrcPort = 5000, DstPort = hostPort });
        ReadLine(host);
        host.Send(new byte[100 * 1024]);
        long received = 0;
        Eventually(() => (received += Received().Sum(p => p.Payload.Length)) >= 64 * 1024, Poll);
        Poll();
        received += Received().Sum(p => p.Payload.Length);
        Assert.Equal(64 * 1024, received);

        // A credit update (it consumed everything) lets the rest through.
        GuestSends(new VsockHeader { Op = VsockHeader.OpCreditUpdate, SrcPort = 5000, DstPort = hostPort, FwdCnt = 64 * 1024 });
        PostRxBuffers(20);
        Eventually(() => (received += Received().Sum(p => p.Payload.Length)) >= 100 * 1024, Poll);
        Assert.Equal(100 * 1024, received);
    }

    [Fact]
    public void PacketsForOtherCidsOrMalformedOnesAreAnsweredWithReset()
    {
        PostRxBuffers(4);
        var stray = new VsockHeader { SrcCid = GuestCid, DstCid = 99, Op = VsockHeader.OpRequest, SrcPort = 1, DstPort = 2, Type = VsockHeader.TypeStream };
        _ram.WriteValue(new GuestAddress(0x38_0000), stray);
        _tx.AddChain((0x38_0000, VsockHeader.Size, false));
        _tx.AddChain((0x38_0000, 20, false));              // shorter than a header
        _transport.Notify(VirtioVsock.TxQueue);
        Assert.Equal(VsockHeader.OpRst, Assert.Single(Received()).Header.Op);
        Assert.Equal(1, _vsock.Queues[VirtioVsock.TxQueue].Errors[ChainError.BadRequest]);
    }
}
