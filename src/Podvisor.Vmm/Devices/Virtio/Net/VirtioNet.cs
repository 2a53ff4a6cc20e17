using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Podvisor.Vmm.Migration;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Devices.Virtio.Net;

/// <summary>
/// virtio-net (virtio 1.2 §5.1): a receive and a transmit queue over an <see cref="INetBackend"/> (a TAP).
/// The guest's virtio-net header travels with every frame, so checksum offload and TSO pass straight to
/// the host stack. Receive uses mergeable buffers: a 64 KiB GSO frame spreads over the guest's page-sized
/// buffers. A frame that finds no buffers waits (the backend is left unread) until the guest adds some.
/// </summary>
public sealed class VirtioNet : VirtioDevice
{
    public const ushort QueueSize = 256;
    public const int RxQueue = 0, TxQueue = 1;
    public const int HeaderSize = 12;
    /// <summary>The largest frame: a 64 KiB GSO packet, its Ethernet header, the virtio-net header.</summary>
    public const int MaxFrame = HeaderSize + 14 + 65535 + 4;

    private readonly INetBackend _backend;
    private readonly byte[] _config = new byte[8];
    private readonly byte[] _rxFrame = new byte[MaxFrame];
    private readonly byte[] _txFrame = new byte[MaxFrame];
    private readonly List<DescriptorChain> _rxChains = [];
    private int _rxPending;
    private long _rxFrames, _txFrames, _rxBytes, _txBytes, _rxDropped, _txDropped;

    public VirtioNet(INetBackend backend, MacAddress mac) : base(QueueSize, QueueSize)
    {
        _backend = backend;
        Mac = mac;
        mac.ToBytes().CopyTo(_config, 0);
    }

    public MacAddress Mac { get; }

    public override VirtioDeviceType Type => VirtioDeviceType.Net;

    public override ulong Features =>
        1UL << NetFeatures.Csum | 1UL << NetFeatures.GuestCsum | 1UL << NetFeatures.Mac
        | 1UL << NetFeatures.GuestTso4 | 1UL << NetFeatures.GuestTso6 | 1UL << NetFeatures.HostTso4 | 1UL << NetFeatures.HostTso6
        | 1UL << NetFeatures.MergeableRxBuffers;

    protected override ReadOnlySpan<byte> ConfigSpace => _config;

    public override IReadOnlyList<SafeHandle> BackendHandles => [_backend.Handle];

    public long RxFrames => Interlocked.Read(ref _rxFrames);
    public long TxFrames => Interlocked.Read(ref _txFrames);
    public long RxBytes => Interlocked.Read(ref _rxBytes);
    public long TxBytes => Interlocked.Read(ref _txBytes);
    /// <summary>Received frames dropped: too big for a non-mergeable buffer, or the driver offered a bad chain.</summary>
    public long RxDropped => Interlocked.Read(ref _rxDropped);
    /// <summary>Frames the guest sent that were malformed or that the backend refused.</summary>
    public long TxDropped => Interlocked.Read(ref _txDropped);

    protected override void OnActivate()
    {
        // The host may hand us only what the guest can take apart.
        uint offload = 0;
        if (VirtioFeatures.Has(AckedFeatures, NetFeatures.GuestCsum))
        {
            offload |= Kvm.Tap.OffloadChecksum;
            if (VirtioFeatures.Has(AckedFeatures, NetFeatures.GuestTso4)) offload |= Kvm.Tap.OffloadTso4;
            if (VirtioFeatures.Has(AckedFeatures, NetFeatures.GuestTso6)) offload |= Kvm.Tap.OffloadTso6;
        }
        _backend.SetOffload(offload);
    }

    protected override void OnReset() => _rxPending = 0;

    /// <summary>A received frame still waiting for guest buffers.</summary>
    public override byte[] SaveDeviceState()
    {
        var w = new StateWriter(_rxPending + 8);
        w.Bytes(_rxFrame.AsSpan(0, _rxPending).ToArray());
        return w.Written.ToArray();
    }

    public override void RestoreDeviceState(byte[] state)
    {
        var r = new StateReader(state, "virtio-net state");
        byte[] pending = r.Bytes("pending frame");
        r.End();
        if (pending.Length > MaxFrame) throw new ArgumentException($"saved frame of {pending.Length} bytes is larger than a frame can be");
        pending.CopyTo(_rxFrame, 0);
        _rxPending = pending.Length;
    }

    public override void ProcessQueue(int index)
    {
        if (index == TxQueue) Transmit();
        else Receive();
    }

    public override void OnBackendReady(int index) => Receive();

    private void Transmit() => ServeAvailable(Queues[TxQueue], Send);

    private void Send(Virtqueue queue, DescriptorChain chain)
    {
        uint length = chain.ReadableLength;
        if (length <= HeaderSize || length > MaxFrame)
        {
            queue.Refuse(chain, ChainError.BadRequest);
            Interlocked.Increment(ref _txDropped);
            return;
        }
        var reader = chain.Reader(Memory);
        reader.TryRead(_txFrame.AsSpan(0, (int)length));
        if (_backend.Write(_txFrame.AsSpan(0, (int)length)))
        {
            Interlocked.Increment(ref _txFrames);
            Interlocked.Add(ref _txBytes, length - HeaderSize);
        }
        else Interlocked.Increment(ref _txDropped);
        queue.AddUsed(chain.HeadIndex, 0);
    }

    /// <summary>Moves frames from the backend into the guest until either runs out.</summary>
    private void Receive()
    {
        var queue = Queues[RxQueue];
        if (!queue.Ready) return;
        bool delivered = false;
        ushort handedBack = queue.UsedIndex;
        while (true)
        {
            if (_rxPending == 0)
            {
                _rxPending = _backend.Read(_rxFrame);
                if (_rxPending == 0) break;
                if (_rxPending <= HeaderSize)
                {
                    _rxPending = 0;
                    continue;
                }
            }
            if (!TryDeliver(queue)) break;        // no room: the frame waits for the guest's next buffers
            delivered = true;
            _rxPending = 0;
        }
        if (delivered || queue.UsedIndex != handedBack) SignalUsed(queue);      // refused chains included
    }

    private bool TryDeliver(Virtqueue queue)
    {
        int length = _rxPending;
        bool mergeable = VirtioFeatures.Has(AckedFeatures, NetFeatures.MergeableRxBuffers);
        _rxChains.Clear();
        ushort checkpoint = queue.Checkpoint();
        uint room = 0;
        while (room < length)
        {
            if (!queue.TryPop(out var chain))
            {
                if (queue.TryRollback(checkpoint)) return false;
                // A malformed chain was handed back in between: complete what was taken, drop the frame.
                return Drop(queue);
            }
            _rxChains.Add(chain);
            if (chain.WritableLength == 0)
            {
                queue.Errors.Count(ChainError.BadRequest);
                return Drop(queue);
            }
            room += chain.WritableLength;
            if (!mergeable) break;
        }
        if (room < length) return Drop(queue);      // without mergeable buffers one chain must hold the frame
        // num_buffers: how many chains the driver must gather this frame from.
        BinaryPrimitives.WriteUInt16LittleEndian(_rxFrame.AsSpan(10), (ushort)_rxChains.Count);
        int offset = 0;
        foreach (var chain in _rxChains)
        {
            var writer = chain.Writer(Memory);
            int n = (int)Math.Min(chain.WritableLength, (uint)(length - offset));
            writer.TryWrite(_rxFrame.AsSpan(offset, n));
            offset += n;
            queue.AddUsed(chain.HeadIndex, (uint)n);
        }
        Interlocked.Increment(ref _rxFrames);
        Interlocked.Add(ref _rxBytes, length - HeaderSize);
        return true;
    }

    /// <summary>Drops the pending frame, returning the chains taken for it empty.</summary>
    private bool Drop(Virtqueue queue)
    {
        foreach (var chain in _rxChains) queue.AddUsed(chain.HeadIndex, 0);
        Interlocked.Increment(ref _rxDropped);
        return true;
    }
}
