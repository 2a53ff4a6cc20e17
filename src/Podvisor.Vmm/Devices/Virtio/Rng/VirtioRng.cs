using System.Security.Cryptography;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Devices.Virtio.Rng;

/// <summary>
/// virtio-rng (virtio 1.2 §5.4): fills every device-writable buffer the driver offers with the host's
/// randomness (getrandom(2) through the runtime's CSPRNG). One request queue, no configuration.
/// </summary>
public sealed class VirtioRng() : VirtioDevice(QueueSize)
{
    public const ushort QueueSize = 256;

    /// <summary>The most bytes one request may ask for: the kernel asks for at most a page, and a hostile guest
    /// must not keep the I/O thread busy with a 4 GiB chain.</summary>
    public const uint MaxBytesPerRequest = 64 * 1024;

    private long _bytes;

    public override VirtioDeviceType Type => VirtioDeviceType.Rng;

    public override ulong Features => 0;

    protected override ReadOnlySpan<byte> ConfigSpace => [];

    /// <summary>Random bytes handed to the guest.</summary>
    public long BytesServed => Interlocked.Read(ref _bytes);

    public override void ProcessQueue(int index) => ServeAvailable(Queues[index], Fill);

    private void Fill(Virtqueue queue, DescriptorChain chain)
    {
        if (chain.WritableLength == 0)
        {
            queue.Refuse(chain, ChainError.BadRequest);
            return;
        }
        var writer = chain.Writer(Memory);
        uint budget = Math.Min(chain.WritableLength, MaxBytesPerRequest);
        while (budget > 0)
        {
            var segment = writer.NextSegment((int)budget);
            RandomNumberGenerator.Fill(segment);
            budget -= (uint)segment.Length;
        }
        Interlocked.Add(ref _bytes, writer.Written);
        queue.AddUsed(chain.HeadIndex, writer.Written);
    }
}
