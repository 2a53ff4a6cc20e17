using Podvisor.Vmm.Devices.Virtio.Balloon;
using Podvisor.Vmm.Devices.Virtio.Block;
using Podvisor.Vmm.Devices.Virtio.Net;
using Podvisor.Vmm.Devices.Virtio.Vsock;
using Podvisor.Vmm.Devices.Virtio.Rng;
using Podvisor.Vmm.Memory;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Tests.Virtio;

/// <summary>
/// Each device fed random descriptor tables and available rings, as a hostile guest could write them, for
/// a fixed number of seeded iterations: the device must never throw (guest RAM access outside RAM throws)
/// and must only ever return heads that exist. Seeds are fixed so a failure reproduces.
/// </summary>
public sealed class VirtioFuzzTests : IDisposable
{
    private const ulong RamSize = 1 << 20;
    private const ushort QueueSize = 16;
    private const int Iterations = 4000;
    private readonly GuestRam _ram = new(RamSize);
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-fuzz-").FullName;

    public void Dispose()
    {
        _ram.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void RngSurvivesRandomQueues() => Fuzz(new VirtioRng(), seed: 1);

    [Theory]
    [InlineData(BlockIoMode.Sync)]
    [InlineData(BlockIoMode.Threads)]
    [InlineData(BlockIoMode.IoUring)]
    public void BlockSurvivesRandomQueues(BlockIoMode mode)
    {
        string image = Path.Combine(_dir, "fuzz.img");
        File.WriteAllBytes(image, new byte[64 * 512]);
        using var block = new VirtioBlock(DiskImage.Open(image, readOnly: false), "fuzz", mode);
        Fuzz(block, seed: 2, requestHeaders: true);
        Assert.True(block.Reads > 200 && block.Writes > 100 && block.IoErrors > 200, $"reads {block.Reads}, writes {block.Writes}, I/O errors {block.IoErrors}");
        Assert.Equal(64 * 512, new FileInfo(image).Length);   // nothing written beyond the disk
    }

    [Theory]
    [InlineData(BlockIoMode.Sync)]
    [InlineData(BlockIoMode.Threads)]
    [InlineData(BlockIoMode.IoUring)]
    public void ReadOnlyBlockSurvivesRandomQueuesAndStaysUnchanged(BlockIoMode mode)
    {
        string image = Path.Combine(_dir, "ro.img");
        File.WriteAllBytes(image, Enumerable.Repeat((byte)0x3c, 64 * 512).ToArray());
        using (var block = new VirtioBlock(DiskImage.Open(image, readOnly: true), "fuzz-ro", mode))
            Fuzz(block, seed: 3, requestHeaders: true);
        Assert.All(File.ReadAllBytes(image), b => Assert.Equal(0x3c, b));
    }

    [Fact]
    public void BalloonSurvivesRandomQueues()
    {
        // Queue 0 inflates: random page numbers are handed back (zeroed), rings included; nothing may throw.
        var balloon = new VirtioBalloon();
        Fuzz(balloon, seed: 5, devicesWrite: false);
        Assert.True(balloon.InflatedPages > 1000, $"only {balloon.InflatedPages} pages were inflated");
    }

    [Fact]
    public void VsockSurvivesRandomPackets()
    {
        var random = new Random(6);
        using var vsock = new VirtioVsock(3, Path.Combine(_dir, "fuzz.sock"));
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(vsock.SocketPath + "_7"));
        listener.Listen(100);
        var transport = new VirtioMmioTransport(vsock, _ram, new CountingInterrupt());
        FakeDriver rx = null!, tx = null!, ev = null!;
        void Probe()
        {
            rx = new FakeDriver(_ram, QueueSize, 0x1000, 0x3000, 0x4000);
            tx = new FakeDriver(_ram, QueueSize, 0x5000, 0x6000, 0x7000);
            ev = new FakeDriver(_ram, QueueSize, 0x9000, 0xa000, 0xb000);
            Assert.True(transport.Negotiate(transport.ReadDeviceFeatures()));
            transport.SetUpQueue(0, rx);
            transport.SetUpQueue(1, tx);
            transport.SetUpQueue(2, ev);
            transport.DriverOk();
        }
        Probe();
        for (int i = 0; i < Iterations; i++)
        {
            // Headers that are mostly well formed (this guest, the host, port 7 or another), ops and lengths random.
            var header = new VsockHeader(random.Next(8) == 0 ? (ulong)random.NextInt64() : 3, random.Next(8) == 0 ? 5UL : VirtioVsock.HostCid,
                (uint)random.Next(4), random.Next(2) == 0 ? 7u : (uint)random.Next(10), (uint)random.Next(random.Next(4) == 0 ? 70000 : 64),
                (ushort)random.Next(3), (ushort)random.Next(9), (uint)random.Next(4), (uint)random.Next(1 << 18), (uint)random.Next(1 << 18));
            _ram.WriteValue(new GuestAddress(0x10000), header);
            foreach (var driver in new[] { rx, tx })
            {
                bool plausible = random.Next(2) == 0;
                for (ushort d = 0; d < QueueSize; d++)
                {
                    if (plausible) WritePlausibleDescriptor(driver, d, random);
                    else driver.WriteDescriptor(d, RandomAddress(random), RandomLength(random), (ushort)random.Next(8), (ushort)random.Next(QueueSize + 2));
                }
                for (int n = random.Next(QueueSize / 2); n > 0; n--) driver.Publish((ushort)(3 * random.Next(QueueSize / 3)));
            }
            transport.ProcessNotification(1);
            transport.ProcessNotification(0);
            transport.ProcessBackend(0);
            foreach (var driver in new[] { rx, tx })
                foreach (var (head, _) in driver.TakeUsed()) Assert.InRange(head, 0, QueueSize - 1);
            if (random.Next(20) == 0) Probe();
        }
        Assert.True(vsock.Queues[VirtioVsock.TxQueue].Popped > 0);
    }

    [Fact]
    public void NetSurvivesRandomQueuesAndFrames()
    {
        var random = new Random(4);
        using var backend = new FakeNetBackend();
        var net = new VirtioNet(backend, MacAddress.Random());
        var transport = new VirtioMmioTransport(net, _ram, new CountingInterrupt());
        FakeDriver rx = null!, tx = null!;
        void Probe()
        {
            rx = new FakeDriver(_ram, QueueSize, 0x1000, 0x3000, 0x4000);
            tx = new FakeDriver(_ram, QueueSize, 0x5000, 0x6000, 0x7000);
            Assert.True(transport.Negotiate(random.Next(3) == 0 ? 1UL << VirtioFeatures.Version1 : transport.ReadDeviceFeatures()));
            transport.SetUpQueue(VirtioNet.RxQueue, rx);
            transport.SetUpQueue(VirtioNet.TxQueue, tx);
            transport.DriverOk();
        }
        Probe();
        long usedEntries = 0;
        for (int i = 0; i < Iterations; i++)
        {
            foreach (var driver in new[] { rx, tx })
            {
                bool plausible = random.Next(2) == 0;
                for (ushort d = 0; d < QueueSize; d++)
                {
                    if (plausible) WritePlausibleDescriptor(driver, d, random);
                    else driver.WriteDescriptor(d, RandomAddress(random), RandomLength(random), (ushort)random.Next(8), (ushort)random.Next(QueueSize + 2));
                }
                for (int n = random.Next(QueueSize / 2); n > 0; n--) driver.Publish((ushort)random.Next(random.Next(8) == 0 ? ushort.MaxValue : QueueSize));
            }
            for (int n = random.Next(4); n > 0; n--) backend.Incoming.Enqueue(new byte[random.Next(1, VirtioNet.MaxFrame + 1)]);
            transport.ProcessNotification(random.Next(2));
            transport.ProcessBackend(0);
            foreach (var driver in new[] { rx, tx })
            {
                foreach (var (head, _) in driver.TakeUsed())
                {
                    Assert.InRange(head, 0, QueueSize - 1);
                    usedEntries++;
                }
            }
            if (random.Next(20) == 0 || net.Queues.Any(q => q.Errors[ChainError.AvailIndexJump] > 0)) Probe();
        }
        Assert.True(net.TxFrames > 50 && net.RxFrames > 50, $"tx {net.TxFrames}, rx {net.RxFrames}: the fuzzer is not reaching the device");
        Assert.True(usedEntries > Iterations, $"only {usedEntries} used entries");
    }

    /// <param name="devicesWrite">The device writes into the chains it serves (so served chains show a length).</param>
    private void Fuzz(VirtioDevice device, int seed, bool requestHeaders = false, bool devicesWrite = true)
    {
        var random = new Random(seed);
        var transport = new VirtioMmioTransport(device, _ram, new CountingInterrupt());
        var driver = new FakeDriver(_ram, QueueSize);
        transport.Probe(driver);
        long accepted = 0, refused = 0;
        for (int i = 0; i < Iterations; i++)
        {
            bool plausible = random.Next(2) == 0;
            for (ushort d = 0; d < QueueSize; d++)
            {
                if (plausible) WritePlausibleDescriptor(driver, d, random);
                else driver.WriteDescriptor(d, RandomAddress(random), RandomLength(random), (ushort)random.Next(8), (ushort)random.Next(QueueSize + 2));
            }
            // Indirect tables the descriptors may point at, full of noise too.
            for (ushort d = 0; d < 8; d++)
                driver.WriteDescriptorAt(new GuestAddress(0x8000), d, RandomAddress(random), RandomLength(random), (ushort)random.Next(8), (ushort)random.Next(10));
            if (requestHeaders)
            {
                // Plausible request headers at the addresses random descriptors favour, so requests get parsed deeply.
                var header = _ram.GetSpan(new GuestAddress(0x10000), 16);
                BitConverter.TryWriteBytes(header, (uint)(random.Next(2) == 0 ? random.Next(2) : random.Next(14)));   // reads and writes most
                BitConverter.TryWriteBytes(header[8..], random.Next(4) == 0 ? (ulong)random.NextInt64() : (ulong)random.Next(80));
            }
            int offered = random.Next(4) == 0 ? random.Next(100) : random.Next(QueueSize / 2);
            for (int n = 0; n < offered; n++)
            {
                ushort head = random.Next(8) switch
                {
                    0 => (ushort)random.Next(ushort.MaxValue),
                    < 4 => (ushort)random.Next(QueueSize),
                    _ => (ushort)(3 * random.Next(QueueSize / 3)),      // where plausible chains start
                };
                driver.Publish(head);
            }
            if (random.Next(50) == 0) driver.SetAvailIndex((ushort)random.Next(ushort.MaxValue));

            transport.ProcessNotification(0);
            // Host I/O still in flight is answered now, on a later completion event, or dropped by a reset.
            if (random.Next(3) != 0) transport.Quiesce();
            else transport.ProcessBackend(0);

            foreach (var (head, length) in driver.TakeUsed())
            {
                Assert.InRange(head, 0, QueueSize - 1);
                if (length > 0) accepted++;
            }
            if (random.Next(20) == 0 || device.Queues[0].Errors[ChainError.AvailIndexJump] > 0)
            {
                refused += device.Queues[0].Errors.Total;
                // The driver resets the device now and then (as Linux does after an error), and starts over.
                driver = new FakeDriver(_ram, QueueSize);
                transport.Probe(driver);
            }
        }
        refused += device.Queues[0].Errors.Total;
        // Both outcomes must be common, or the fuzzer is not reaching the device's request handling.
        if (devicesWrite) Assert.True(accepted > Iterations / 10, $"only {accepted} chains were served");
        Assert.True(refused > Iterations, $"only {refused} chains were refused");
    }

    /// <summary>
    /// Descriptors laid out as header → data → status triples (the shape of a block request, and good enough
    /// for the rng), each field mutated now and then: random bytes alone rarely get past chain parsing.
    /// </summary>
    private static void WritePlausibleDescriptor(FakeDriver driver, ushort index, Random random)
    {
        ulong address;
        uint length;
        ushort flags;
        switch (index % 3)
        {
            case 0: (address, length, flags) = (0x10000UL, 16u, Descriptor.FlagNext); break;
            case 1:
                address = (ulong)random.Next(0x20, 0x70) << 12;
                length = (uint)(512 * random.Next(1, 9));
                flags = (ushort)(Descriptor.FlagNext | (random.Next(2) == 0 ? Descriptor.FlagWrite : 0));
                break;
            default: (address, length, flags) = (0x70000UL, 1u, Descriptor.FlagWrite); break;
        }
        ushort next = (ushort)(index + 1);
        switch (random.Next(12))
        {
            case 0: address = RandomAddress(random); break;
            case 1: length = RandomLength(random); break;
            case 2: flags = (ushort)random.Next(8); break;
            case 3: next = (ushort)random.Next(QueueSize + 2); break;
        }
        driver.WriteDescriptor(index, address, length, flags, next);
    }

    private static ulong RandomAddress(Random random) => random.Next(6) switch
    {
        0 => (ulong)random.NextInt64(),                       // anywhere
        1 => RamSize - (ulong)random.Next(64),                // at the end of RAM
        2 => 0x10000,                                         // the header
        3 => 0x8000,                                          // the indirect table
        _ => (ulong)random.Next(0x20000, 0x80000),            // ordinary data
    };

    private static uint RandomLength(Random random) => random.Next(6) switch
    {
        0 => (uint)random.NextInt64(uint.MaxValue),
        1 => 0,
        2 => 16,
        3 => 1,
        _ => (uint)random.Next(1, 8192),
    };
}
