using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Podvisor.Kvm;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Devices.Virtio.Vsock;

/// <summary>
/// virtio-vsock (virtio 1.2 §5.10) with host sockets on the Firecracker model: host programs reach guest
/// port P by connecting to the device's Unix socket and writing "CONNECT P\n" (answered "OK hostport\n"),
/// and a guest connecting to the host (CID 2) port P reaches the Unix socket "<path>_P". Streams only;
/// credit-based flow control both ways. The connections' sockets sit in an epoll of the device's own, whose
/// descriptor is the device's single backend handle.
/// </summary>
public sealed class VirtioVsock : VirtioDevice, IDisposable
{
    public const ushort QueueSize = 256;
    public const int RxQueue = 0, TxQueue = 1, EventQueue = 2;
    public const ulong HostCid = 2;
    /// <summary>Largest payload we accept in one guest packet (Linux sends at most 64 KiB).</summary>
    public const int MaxPacket = 64 * 1024;
    private const ulong ListenerToken = 0;

    private readonly string _socketPath;
    private readonly Socket _listener;
    private readonly Epoll _poller = new();
    private readonly byte[] _config = new byte[8];
    private readonly Dictionary<(uint GuestPort, uint HostPort), VsockConnection> _connections = [];
    private readonly Dictionary<ulong, VsockConnection> _byToken = [];
    private readonly Dictionary<VsockConnection, ulong> _tokens = [];
    private readonly HashSet<VsockConnection> _readable = [];
    private readonly Queue<VsockHeader> _control = new();
    private readonly byte[] _packet = new byte[MaxPacket];
    private ulong _nextToken = 1;
    private uint _nextHostPort = 1u << 30;
    private long _bytesToGuest, _bytesToHost, _refusedConnections;

    /// <param name="guestCid">The guest's context id (3 or more).</param>
    /// <param name="socketPath">The Unix socket host programs connect to (made here; a stale socket file is replaced).</param>
    public VirtioVsock(ulong guestCid, string socketPath) : base(QueueSize, QueueSize, QueueSize)
    {
        if (!IsValidGuestCid(guestCid)) throw new ArgumentException($"guest CID must be between 3 and {uint.MaxValue - 1}, got {guestCid}");
        GuestCid = guestCid;
        BinaryPrimitives.WriteUInt64LittleEndian(_config, guestCid);
        _socketPath = Path.GetFullPath(socketPath);
        if (File.Exists(_socketPath))
        {
            if (!HostFiles.IsUnixSocket(_socketPath)) throw new ArgumentException($"vsock socket {_socketPath} exists and is not a socket");
            File.Delete(_socketPath);
        }
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            _listener.Bind(new UnixDomainSocketEndPoint(_socketPath));
            _listener.Listen(64);
            _listener.Blocking = false;
            _poller.Add(_listener.SafeHandle, ListenerToken, edgeTriggered: true);
        }
        catch (SocketException e)
        {
            _listener.Dispose();
            throw new ArgumentException($"vsock socket {_socketPath}: {e.Message}");
        }
    }

    public ulong GuestCid { get; }

    /// <summary>CIDs 0–2 are the hypervisor's, local and the host's; the top one means "any".</summary>
    public static bool IsValidGuestCid(ulong cid) => cid >= 3 && cid <= uint.MaxValue - 1;

    public string SocketPath => _socketPath;

    public override VirtioDeviceType Type => VirtioDeviceType.Vsock;

    public override ulong Features => 0;

    protected override ReadOnlySpan<byte> ConfigSpace => _config;

    public override IReadOnlyList<SafeHandle> BackendHandles => [_poller.Handle];

    public long BytesToGuest => Interlocked.Read(ref _bytesToGuest);
    public long BytesToHost => Interlocked.Read(ref _bytesToHost);
    /// <summary>Connections refused: no host socket for a guest's port, a bad CONNECT line, the guest said no.</summary>
    public long RefusedConnections => Interlocked.Read(ref _refusedConnections);
    public int OpenConnections => _byToken.Count;

    protected override void OnReset()
    {
        // A reset guest driver forgets every stream: so do we.
        foreach (var c in _byToken.Values.ToList()) Close(c);
        _control.Clear();
    }

    /// <summary>
    /// On a migration target the host's sockets did not come along: tell the guest its transport was reset
    /// (VIRTIO_VSOCK_EVENT_TRANSPORT_RESET), so it drops every stream and its programs reconnect.
    /// </summary>
    public override void RestoreDeviceState(byte[] state)
    {
        var events = Queues[EventQueue];
        if (!events.Ready || !events.TryPop(out var chain)) return;
        var writer = chain.Writer(Memory);
        if (!writer.TryWrite(0u))            // event id 0: transport reset
        {
            events.Refuse(chain, ChainError.BadRequest);
            return;
        }
        events.AddUsed(chain.HeadIndex, writer.Written);
        SignalUsed(events);
    }

    public override void ProcessQueue(int index)
    {
        if (index == TxQueue) Transmit();
        if (index != EventQueue) FillRx();
    }

    public override void OnBackendReady(int index)
    {
        Span<ulong> tokens = stackalloc ulong[32];
        int n;
        while ((n = _poller.Wait(tokens, timeoutMs: 0)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                if (tokens[i] == ListenerToken) AcceptHostConnections();
                else if (_byToken.TryGetValue(tokens[i], out var c)) OnSocketReady(c);
            }
        }
        FillRx();
    }

    private void AcceptHostConnections()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = _listener.Accept();
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                return;
            }
            socket.Blocking = false;
            Register(new VsockConnection(socket, 0, _nextHostPort++, VsockConnectionState.AwaitingConnectLine));
        }
    }

    private void Register(VsockConnection c)
    {
        ulong token = _nextToken++;
        _byToken[token] = c;
        _tokens[c] = token;
        _poller.Add(c.Socket.SafeHandle, token, writable: true, edgeTriggered: true);
        if (c.State != VsockConnectionState.AwaitingConnectLine) _connections[(c.GuestPort, c.HostPort)] = c;
    }

    private void Close(VsockConnection c)
    {
        if (!_tokens.Remove(c, out ulong token)) return;
        _byToken.Remove(token);
        _connections.Remove((c.GuestPort, c.HostPort));
        _readable.Remove(c);
        _poller.Remove(c.Socket.SafeHandle);
        c.Socket.Dispose();
    }

    private void OnSocketReady(VsockConnection c)
    {
        if (c.State == VsockConnectionState.AwaitingConnectLine)
        {
            ReadConnectLine(c);
            return;
        }
        DrainToHost(c);
        _readable.Add(c);
    }

    /// <summary>"CONNECT port\n", read a byte at a time so no stream data is taken with it.</summary>
    private void ReadConnectLine(VsockConnection c)
    {
        Span<byte> one = stackalloc byte[1];
        while (true)
        {
            int n = c.Socket.Receive(one, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock) return;
            if (n == 0 || error != SocketError.Success || c.ConnectLine.Count > 32)
            {
                Refuse(c);
                return;
            }
            if (one[0] != (byte)'\n')
            {
                c.ConnectLine.Add(one[0]);
                continue;
            }
            string line = Encoding.ASCII.GetString([.. c.ConnectLine]).Trim();
            if (!line.StartsWith("CONNECT ", StringComparison.Ordinal) || !uint.TryParse(line[8..], out uint port))
            {
                Refuse(c);
                return;
            }
            c.GuestPort = port;
            c.State = VsockConnectionState.Connecting;
            _connections[(c.GuestPort, c.HostPort)] = c;
            _control.Enqueue(Header(c, VsockHeader.OpRequest));
            return;
        }
    }

    private void Refuse(VsockConnection c)
    {
        Interlocked.Increment(ref _refusedConnections);
        Close(c);
    }

    private VsockHeader Header(VsockConnection c, ushort op, uint length = 0, uint flags = 0)
    {
        c.ForwardCountSent = c.ForwardCount;
        return new VsockHeader(HostCid, GuestCid, c.HostPort, c.GuestPort, length, VsockHeader.TypeStream, op, flags, VsockConnection.BufferSize, c.ForwardCount);
    }

    /// <summary>A reset for a packet that names no connection we have.</summary>
    private VsockHeader ResetFor(in VsockHeader h) =>
        new(HostCid, GuestCid, h.DstPort, h.SrcPort, 0, VsockHeader.TypeStream, VsockHeader.OpRst, 0, 0, 0);

    private void Transmit() => ServeAvailable(Queues[TxQueue], Receive);

    /// <summary>One packet the guest sent.</summary>
    private void Receive(Virtqueue queue, DescriptorChain chain)
    {
        var reader = chain.Reader(Memory);
        if (!reader.TryRead(out VsockHeader h) || h.Len > reader.Remaining || h.Len > MaxPacket)
        {
            queue.Refuse(chain, ChainError.BadRequest);
            return;
        }
        var payload = _packet.AsSpan(0, (int)h.Len);
        reader.TryRead(payload);
        queue.AddUsed(chain.HeadIndex, 0);
        HandleGuestPacket(h, payload);
    }

    private void HandleGuestPacket(in VsockHeader h, ReadOnlySpan<byte> payload)
    {
        if (h.Type != VsockHeader.TypeStream || h.DstCid != HostCid || h.SrcCid != GuestCid)
        {
            if (h.Op != VsockHeader.OpRst) _control.Enqueue(ResetFor(h));
            return;
        }
        _connections.TryGetValue((h.SrcPort, h.DstPort), out var c);
        if (c is not null)
        {
            c.PeerBufAlloc = h.BufAlloc;
            c.PeerFwdCnt = h.FwdCnt;
        }
        switch (h.Op)
        {
            case VsockHeader.OpRequest when c is null:
                ConnectToHost(h);
                return;
            case VsockHeader.OpResponse when c is { State: VsockConnectionState.Connecting }:
                c.State = VsockConnectionState.Established;
                c.Socket.Send(Encoding.ASCII.GetBytes($"OK {c.HostPort}\n"), SocketFlags.None, out _);
                _readable.Add(c);
                return;
            case VsockHeader.OpRw when c is { State: VsockConnectionState.Established }:
                ToHost(c, payload);
                return;
            case VsockHeader.OpCreditUpdate when c is not null:
                return;                            // the credit was taken above; FillRx may now send more
            case VsockHeader.OpCreditRequest when c is not null:
                _control.Enqueue(Header(c, VsockHeader.OpCreditUpdate));
                return;
            case VsockHeader.OpShutdown when c is not null:
                // Flags are the guest's: SEND = it sends no more (the host reads end of stream once the data
                // is through), RECEIVE = it takes no more. Both: the stream is over.
                c.GuestShutdown |= h.Flags & (VsockHeader.ShutdownSend | VsockHeader.ShutdownReceive);
                ApplyGuestShutdown(c);
                return;
            case VsockHeader.OpRst when c is not null:
                if (c.State == VsockConnectionState.Connecting) Interlocked.Increment(ref _refusedConnections);
                Close(c);
                return;
            case VsockHeader.OpRst:
                return;
            default:
                _control.Enqueue(ResetFor(h));
                if (c is not null) Close(c);
                return;
        }
    }

    private void ConnectToHost(in VsockHeader h)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint($"{_socketPath}_{h.DstPort}"));
        }
        catch (SocketException)
        {
            socket.Dispose();
            Interlocked.Increment(ref _refusedConnections);
            _control.Enqueue(ResetFor(h));
            return;
        }
        socket.Blocking = false;
        var c = new VsockConnection(socket, h.SrcPort, h.DstPort, VsockConnectionState.Established)
        {
            PeerBufAlloc = h.BufAlloc,
            PeerFwdCnt = h.FwdCnt,
        };
        Register(c);
        _control.Enqueue(Header(c, VsockHeader.OpResponse));
    }

    private void ToHost(VsockConnection c, ReadOnlySpan<byte> data)
    {
        if (c.ToHostBytes == 0)
        {
            int sent = c.Socket.Send(data, SocketFlags.None, out var error);
            if (error is not (SocketError.Success or SocketError.WouldBlock))
            {
                FinishClose(c);
                return;
            }
            sent = Math.Max(sent, 0);
            Forwarded(c, sent);
            data = data[sent..];
        }
        if (data.IsEmpty) return;
        c.ToHost.Enqueue(data.ToArray());
        c.ToHostBytes += data.Length;
    }

    private void DrainToHost(VsockConnection c)
    {
        while (c.ToHost.TryPeek(out var chunk))
        {
            int sent = c.Socket.Send(chunk.AsSpan(c.ToHostOffset), SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock) return;
            if (error != SocketError.Success)
            {
                FinishClose(c);
                return;
            }
            c.ToHostBytes -= sent;
            c.ToHostOffset += sent;
            Forwarded(c, sent);
            if (c.ToHostOffset < chunk.Length) return;
            c.ToHost.Dequeue();
            c.ToHostOffset = 0;
        }
        ApplyGuestShutdown(c);
    }

    /// <summary>Once everything the guest sent has reached the host: pass its shutdown on; both directions shut → done.</summary>
    private void ApplyGuestShutdown(VsockConnection c)
    {
        if (c.ToHostBytes > 0 || c.GuestShutdown == 0) return;
        if ((c.GuestShutdown & VsockHeader.ShutdownSend) != 0 && !c.HostWriteShut)
        {
            c.HostWriteShut = true;
            try
            {
                c.Socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
            }
        }
        if (c.GuestShutdown == (VsockHeader.ShutdownSend | VsockHeader.ShutdownReceive)) FinishClose(c);
    }

    private void Forwarded(VsockConnection c, int bytes)
    {
        c.ForwardCount += (uint)bytes;
        Interlocked.Add(ref _bytesToHost, bytes);
        // Tell the guest about freed space before it runs out, not after every packet.
        if (c.ForwardCount - c.ForwardCountSent >= VsockConnection.BufferSize / 4) _control.Enqueue(Header(c, VsockHeader.OpCreditUpdate));
    }

    /// <summary>Ends a stream: the guest gets a reset, the host socket is closed.</summary>
    private void FinishClose(VsockConnection c)
    {
        _control.Enqueue(Header(c, VsockHeader.OpRst));
        Close(c);
    }

    /// <summary>Fills the guest's receive buffers: control packets first, then stream data the guest has credit for.</summary>
    private void FillRx()
    {
        var queue = Queues[RxQueue];
        if (!queue.Ready) return;
        bool used = false;
        ushort handedBack = queue.UsedIndex;
        while (true)
        {
            if (_control.Count > 0)
            {
                if (!queue.TryPop(out var chain)) break;
                used = true;
                var writer = chain.Writer(Memory);
                if (!writer.TryWrite(_control.Peek()))
                {
                    queue.Refuse(chain, ChainError.BadRequest);
                    continue;
                }
                _control.Dequeue();
                queue.AddUsed(chain.HeadIndex, writer.Written);
                continue;
            }
            if (!SendStreamData(queue, ref used)) break;
        }
        if (used || queue.UsedIndex != handedBack) SignalUsed(queue);      // refused chains included
    }

    /// <summary>One data packet from a readable connection; false when there is nothing (or no room) to send.</summary>
    private bool SendStreamData(Virtqueue queue, ref bool used)
    {
        foreach (var c in _readable)
        {
            if (c.State != VsockConnectionState.Established || c.HostClosed || (c.GuestShutdown & VsockHeader.ShutdownReceive) != 0)
            {
                _readable.Remove(c);
                return true;
            }
            byte[] data;
            if (c.ToGuestPending is { } pending) data = pending;
            else
            {
                uint inFlight = c.SentToGuest - c.PeerFwdCnt;
                uint credit = inFlight >= c.PeerBufAlloc ? 0 : c.PeerBufAlloc - inFlight;
                if (credit == 0) continue;                       // waits for the guest's credit update
                // Read before taking a chain: a chain is taken only when there is data for it.
                int n = c.Socket.Receive(_packet.AsSpan(0, (int)Math.Min(credit, (uint)MaxPacket)), SocketFlags.None, out var error);
                if (error == SocketError.WouldBlock)
                {
                    _readable.Remove(c);
                    return true;
                }
                if (n == 0 || error != SocketError.Success)
                {
                    // The host program sends no more: tell the guest (it may still send; it closes with a shutdown or reset).
                    c.HostClosed = true;
                    _readable.Remove(c);
                    _control.Enqueue(Header(c, VsockHeader.OpShutdown, flags: VsockHeader.ShutdownSend));
                    return true;
                }
                data = _packet.AsSpan(0, n).ToArray();
            }
            c.ToGuestPending = data;
            if (!queue.TryPop(out var chain)) return false;       // waits for the guest's receive buffers
            used = true;
            var writer = chain.Writer(Memory);
            if (writer.Remaining <= VsockHeader.Size)
            {
                queue.Refuse(chain, ChainError.BadRequest);
                return true;
            }
            int length = (int)Math.Min((uint)data.Length, writer.Remaining - VsockHeader.Size);
            writer.TryWrite(Header(c, VsockHeader.OpRw, (uint)length));
            writer.TryWrite(data.AsSpan(0, length));
            queue.AddUsed(chain.HeadIndex, writer.Written);
            c.SentToGuest += (uint)length;
            c.ToGuestPending = length == data.Length ? null : data[length..];
            Interlocked.Add(ref _bytesToGuest, length);
            return true;
        }
        return false;
    }

    public void Dispose()
    {
        foreach (var c in _byToken.Values.ToList()) Close(c);
        _poller.Dispose();
        _listener.Dispose();
        try
        {
            File.Delete(_socketPath);
        }
        catch (IOException)
        {
        }
    }
}
