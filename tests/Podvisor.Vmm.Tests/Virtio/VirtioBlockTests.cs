using System.Buffers.Binary;
using Podvisor.Vmm.Devices.Virtio.Block;
using Podvisor.Vmm.Memory;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Tests.Virtio;

/// <summary>virtio-blk requests against a real image file, through the MMIO transport; run once per I/O mode
/// (<see cref="VirtioBlockSyncTests"/>, <see cref="VirtioBlockThreadsTests"/>, <see cref="VirtioBlockIoUringTests"/>).</summary>
public abstract class VirtioBlockTests : IDisposable
{
    private const ulong Header = 0x10000, Data = 0x20000, Status = 0x30000;
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-blk-").FullName;
    private readonly GuestRam _ram = new(1 << 20);
    private readonly List<VirtioBlock> _devices = [];

    protected abstract BlockIoMode Mode { get; }

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        foreach (var d in _devices) d.Dispose();       // before guest RAM goes: host I/O may still be writing into it
        _ram.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string Image(int sectors, Func<int, byte>? fill = null)
    {
        string path = Path.Combine(_dir, $"disk{Guid.NewGuid():N}.img");
        var bytes = new byte[sectors * 512];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = fill?.Invoke(i) ?? 0;
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private readonly CountingInterrupt _interrupt = new();

    private (VirtioBlock Device, FakeDriver Driver, VirtioMmioTransport Transport) Attach(string path, bool readOnly = false)
    {
        var disk = DiskImage.Open(path, readOnly);
        var device = new VirtioBlock(disk, "podvisor-test", Mode);
        _devices.Add(device);
        var transport = new VirtioMmioTransport(device, _ram, _interrupt);
        var driver = new FakeDriver(_ram, 16);
        transport.Probe(driver);
        return (device, driver, transport);
    }

    private void WriteHeader(uint type, ulong sector)
    {
        var h = _ram.GetSpan(new GuestAddress(Header), 16);
        BinaryPrimitives.WriteUInt32LittleEndian(h, type);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(h[8..], sector);
        _ram.GetSpan(new GuestAddress(Status), 1)[0] = 0xee;
    }

    /// <summary>The driver's notify, then whatever the host still has in flight finished and answered.</summary>
    private static void Notify(VirtioMmioTransport transport)
    {
        transport.Notify(0);
        transport.Quiesce();
    }

    private byte StatusByte => _ram.GetReadOnlySpan(new GuestAddress(Status), 1)[0];

    [Fact]
    public void ReportsCapacityInSectorsAndOffersFlushAndDiscard()
    {
        var (device, _, transport) = Attach(Image(8));
        var capacity = new byte[8];
        transport.Read(MmioRegisters.Config, capacity);
        Assert.Equal(8UL, BinaryPrimitives.ReadUInt64LittleEndian(capacity));
        Assert.True(VirtioFeatures.Has(device.Features, BlockFeatures.Flush));
        Assert.True(VirtioFeatures.Has(device.Features, BlockFeatures.Discard));
        Assert.False(VirtioFeatures.Has(device.Features, BlockFeatures.ReadOnly));
    }

    [Fact]
    public void ABatchOfOnlyMalformedChainsIsHandedBackWithAnInterrupt()
    {
        var (_, driver, transport) = Attach(Image(8));
        int before = _interrupt.Count;
        ushort head = driver.AddChain((Header, 16, false), (0x7fff_0000, 512, true), (Status, 1, true));   // a buffer outside RAM
        Notify(transport);
        Assert.Equal([(head, 0u)], driver.TakeUsed());
        Assert.Equal(before + 1, _interrupt.Count);            // told now, not at some later interrupt
    }

    [Fact]
    public void ReadsSectorsAcrossSeveralBuffers()
    {
        var (_, driver, transport) = Attach(Image(8, i => (byte)(i / 512 + 1)));
        WriteHeader(BlockRequestType.In, 2);
        ushort head = driver.AddChain((Header, 16, false), (Data, 512, true), (Data + 0x1000, 1024, true), (Status, 1, true));
        Notify(transport);
        Assert.Equal([(head, 1537u)], driver.TakeUsed());
        Assert.Equal(BlockStatus.Ok, StatusByte);
        Assert.All(_ram.GetReadOnlySpan(new GuestAddress(Data), 512).ToArray(), b => Assert.Equal(3, b));
        var second = _ram.GetReadOnlySpan(new GuestAddress(Data + 0x1000), 1024).ToArray();
        Assert.All(second[..512], b => Assert.Equal(4, b));
        Assert.All(second[512..], b => Assert.Equal(5, b));
    }

    [Fact]
    public void ALargeReadFillsEachOfItsBuffersInOrder()
    {
        // 112 KiB in 14 buffers with gaps between them: each gets its own part of the disk.
        const int Buffers = 14, Size = 8192, Sectors = Buffers * Size / 512;
        var (device, driver, transport) = Attach(Image(Sectors + 8, i => (byte)(i * 31 + i / 512)));
        ulong At(int i) => 0x40000 + (ulong)i * (Size + 4096);
        WriteHeader(BlockRequestType.In, 8);
        ushort head = driver.AddChain([(Header, 16, false), .. Enumerable.Range(0, Buffers).Select(i => (At(i), (uint)Size, true)), (Status, 1, true)]);
        Notify(transport);
        Assert.Equal([(head, (uint)(Buffers * Size + 1))], driver.TakeUsed());
        Assert.Equal(BlockStatus.Ok, StatusByte);
        Assert.Equal(1, device.Reads);
        for (int i = 0; i < Buffers; i++)
        {
            int from = 8 * 512 + i * Size;
            Assert.Equal(Enumerable.Range(from, Size).Select(b => (byte)(b * 31 + b / 512)), _ram.GetReadOnlySpan(new GuestAddress(At(i)), Size).ToArray());
        }
    }

    [Fact]
    public void WritesReachTheImageAndFlushSucceeds()
    {
        string path = Image(8);
        var (device, driver, transport) = Attach(path);
        _ram.GetSpan(new GuestAddress(Data), 1024).Fill(0x5a);
        WriteHeader(BlockRequestType.Out, 5);
        ushort head = driver.AddChain((Header, 16, false), (Data, 1024, false), (Status, 1, true));
        Notify(transport);
        Assert.Equal([(head, 1u)], driver.TakeUsed());
        Assert.Equal(BlockStatus.Ok, StatusByte);

        // The flush reuses the write's head (as a driver does): nothing of the write's buffers may leak into it.
        WriteHeader(BlockRequestType.Flush, 0);
        driver.WriteDescriptor(head, Header, 16, Descriptor.FlagNext, (ushort)(head + 1));
        driver.WriteDescriptor((ushort)(head + 1), Status, 1, Descriptor.FlagWrite, 0);
        driver.Publish(head);
        Notify(transport);
        Assert.Equal(BlockStatus.Ok, StatusByte);
        Assert.Equal(1, device.Flushes);

        var image = File.ReadAllBytes(path);
        Assert.All(image[(5 * 512)..(7 * 512)], b => Assert.Equal(0x5a, b));
        Assert.All(image[..(5 * 512)], b => Assert.Equal(0, b));
        Assert.All(image[(7 * 512)..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void AReadOnlyDiskRefusesWritesAndDiscards()
    {
        string path = Image(8, _ => 7);
        var (device, driver, transport) = Attach(path, readOnly: true);
        Assert.True(VirtioFeatures.Has(device.Features, BlockFeatures.ReadOnly));
        WriteHeader(BlockRequestType.Out, 0);
        driver.AddChain((Header, 16, false), (Data, 512, false), (Status, 1, true));
        Notify(transport);
        Assert.Equal(BlockStatus.IoError, StatusByte);
        WriteHeader(BlockRequestType.Discard, 0);
        driver.AddChain((Header, 16, false), (Data, 16, false), (Status, 1, true));
        Notify(transport);
        Assert.Equal(BlockStatus.IoError, StatusByte);
        Assert.All(File.ReadAllBytes(path), b => Assert.Equal(7, b));
        Assert.Equal(2, device.IoErrors);
    }

    [Theory]
    [InlineData(BlockRequestType.In, 8UL, 512u)]           // starts past the end
    [InlineData(BlockRequestType.In, 7UL, 1024u)]          // runs past the end
    [InlineData(BlockRequestType.In, ulong.MaxValue, 512u)]
    [InlineData(BlockRequestType.Out, 0UL, 100u)]          // not whole sectors
    public void OutOfRangeOrPartialSectorRequestsFailWithIoError(uint type, ulong sector, uint length)
    {
        var (_, driver, transport) = Attach(Image(8));
        WriteHeader(type, sector);
        driver.AddChain((Header, 16, false), (Data, length, type == BlockRequestType.In), (Status, 1, true));
        Notify(transport);
        Assert.Equal(BlockStatus.IoError, StatusByte);
    }

    [Fact]
    public void GetIdReturnsTheSerial()
    {
        var (_, driver, transport) = Attach(Image(8));
        WriteHeader(BlockRequestType.GetId, 0);
        driver.AddChain((Header, 16, false), (Data, 20, true), (Status, 1, true));
        Notify(transport);
        Assert.Equal(BlockStatus.Ok, StatusByte);
        Assert.Equal("podvisor-test\0\0\0\0\0\0\0"u8.ToArray(), _ram.GetReadOnlySpan(new GuestAddress(Data), 20).ToArray());
    }

    [Fact]
    public void DiscardPunchesAHoleThatReadsAsZeroes()
    {
        string path = Image(64, _ => 0xff);
        var (device, driver, transport) = Attach(path);
        WriteHeader(BlockRequestType.Discard, 0);
        var seg = _ram.GetSpan(new GuestAddress(Data), 16);
        BinaryPrimitives.WriteUInt64LittleEndian(seg, 8);        // sector
        BinaryPrimitives.WriteUInt32LittleEndian(seg[8..], 16);  // sectors
        BinaryPrimitives.WriteUInt32LittleEndian(seg[12..], 0);
        driver.AddChain((Header, 16, false), (Data, 16, false), (Status, 1, true));
        Notify(transport);
        Assert.Equal(BlockStatus.Ok, StatusByte);
        Assert.Equal(1, device.Discards);
        var image = File.ReadAllBytes(path);
        Assert.Equal(64 * 512, image.Length);                     // size kept
        Assert.All(image[(8 * 512)..(24 * 512)], b => Assert.Equal(0, b));
        Assert.All(image[..(8 * 512)], b => Assert.Equal(0xff, b));
        Assert.All(image[(24 * 512)..], b => Assert.Equal(0xff, b));
    }

    [Fact]
    public void UnknownRequestTypesAreUnsupported()
    {
        var (_, driver, transport) = Attach(Image(8));
        WriteHeader(99, 0);
        driver.AddChain((Header, 16, false), (Status, 1, true));
        Notify(transport);
        Assert.Equal(BlockStatus.Unsupported, StatusByte);
    }

    [Fact]
    public void ARequestWithoutHeaderOrStatusIsRefused()
    {
        var (device, driver, transport) = Attach(Image(8));
        ushort shortHeader = driver.AddChain((Header, 8, false), (Status, 1, true));
        ushort noStatus = driver.AddChain((Header, 16, false), (Data, 512, false));
        Notify(transport);
        Assert.Equal([(shortHeader, 0u), (noStatus, 0u)], driver.TakeUsed());
        Assert.Equal(2, device.Queues[0].Errors[ChainError.BadRequest]);
    }

    [Fact]
    public void BadImagesGiveClearErrors()
    {
        Assert.Contains("does not exist", Assert.Throws<ArgumentException>(() => DiskImage.Open(Path.Combine(_dir, "missing.img"), false)).Message);
        Assert.Contains("directory", Assert.Throws<ArgumentException>(() => DiskImage.Open(_dir, false)).Message);
        string tiny = Path.Combine(_dir, "tiny.img");
        File.WriteAllBytes(tiny, new byte[100]);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => DiskImage.Open(tiny, false)).Message);
    }

    /// <summary>A read of sector <paramref name="sector"/> into its own buffers: header, 512 bytes, status.</summary>
    private ushort AddRead(FakeDriver driver, int n, ulong sector)
    {
        ulong header = 0x40000 + 16UL * (ulong)n, data = 0x50000 + 512UL * (ulong)n, status = 0x48000 + (ulong)n;
        var h = _ram.GetSpan(new GuestAddress(header), 16);
        BinaryPrimitives.WriteUInt32LittleEndian(h, BlockRequestType.In);
        BinaryPrimitives.WriteUInt64LittleEndian(h[8..], sector);
        return driver.AddChain((header, 16, false), (data, 512, true), (status, 1, true));
    }

    [Fact]
    public void ManyRequestsInFlightAreAllAnsweredAsTheyFinish()
    {
        const int count = 5;
        var (device, driver, transport) = Attach(Image(64, i => (byte)(i / 512)));
        var heads = new HashSet<ushort>();
        for (int n = 0; n < count; n++) heads.Add(AddRead(driver, n, sector: (ulong)(10 + n)));
        transport.Notify(0);
        // Answers come from the queue's own batch or from the completion event, as the I/O thread would see them.
        var used = new List<(ushort Head, uint Length)>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (used.Count < count && DateTime.UtcNow < deadline)
        {
            used.AddRange(driver.TakeUsed());
            if (used.Count < count) transport.ProcessBackend(0);
            Thread.Sleep(1);
        }
        Assert.Equal(heads.Order(), used.Select(u => u.Head).Order());
        Assert.All(used, u => Assert.Equal(513u, u.Length));
        Assert.Equal(0, device.InFlight);
        for (int n = 0; n < count; n++)
        {
            Assert.Equal(BlockStatus.Ok, _ram.GetReadOnlySpan(new GuestAddress(0x48000 + (ulong)n), 1)[0]);
            Assert.All(_ram.GetReadOnlySpan(new GuestAddress(0x50000 + 512UL * (ulong)n), 512).ToArray(), b => Assert.Equal(10 + n, b));
        }
    }

    [Fact]
    public void AHeadOfferedAgainWhileInFlightIsRefused()
    {
        var (device, driver, transport) = Attach(Image(8));
        ushort head = AddRead(driver, 0, 1);
        driver.Publish(head);
        Notify(transport);
        var used = driver.TakeUsed();
        Assert.Equal(2, used.Count);
        Assert.Contains((head, 0u), used);           // the second offer, handed back empty
        Assert.Contains((head, 513u), used);
        Assert.Equal(1, device.Queues[0].Errors[ChainError.HeadInFlight]);
    }

    [Fact]
    public void SavingStateAnswersWhatIsStillInFlight()
    {
        var (device, driver, transport) = Attach(Image(64, i => (byte)(i / 512)));
        for (int n = 0; n < 4; n++) AddRead(driver, n, (ulong)n);
        transport.Notify(0);
        var state = transport.SaveState();
        Assert.Equal(0, device.InFlight);
        Assert.Equal(4, state.Queues[0].NextUsed);
        Assert.Equal(4, driver.TakeUsed().Count);
    }

    [Fact]
    public void AResetWaitsForHostIoAndTheDeviceWorksAfterwards()
    {
        var (device, driver, transport) = Attach(Image(64, i => (byte)(i / 512)));
        for (int n = 0; n < 4; n++) AddRead(driver, n, (ulong)n);
        transport.Notify(0);
        transport.WriteRegister(MmioRegisters.Status, 0);
        Assert.Equal(0, device.InFlight);
        _ram.GetSpan(new GuestAddress(0x1000), 0x4000).Clear();     // fresh rings, as a driver allocates after a reset
        driver = new FakeDriver(_ram, 16);
        transport.Probe(driver);
        ushort head = AddRead(driver, 7, 33);
        Notify(transport);
        Assert.Equal([(head, 513u)], driver.TakeUsed());
        Assert.All(_ram.GetReadOnlySpan(new GuestAddress(0x50000 + 512UL * 7), 512).ToArray(), b => Assert.Equal(33, b));
    }

    [Fact]
    public void AReadStraddlingTheEndOfAFileThatShrankReadsZeroesPastIt()
    {
        string path = Image(8, _ => 7);
        var (_, driver, transport) = Attach(path);
        using (var f = new FileStream(path, FileMode.Open)) f.SetLength(5 * 512 + 100);    // shrinks under the running disk
        _ram.GetSpan(new GuestAddress(Data), 2048).Fill(0xee);
        WriteHeader(BlockRequestType.In, 4);
        ushort head = driver.AddChain((Header, 16, false), (Data, 2048, true), (Status, 1, true));
        Notify(transport);
        Assert.Equal([(head, 2049u)], driver.TakeUsed());
        Assert.Equal(BlockStatus.Ok, StatusByte);
        var data = _ram.GetReadOnlySpan(new GuestAddress(Data), 2048).ToArray();
        Assert.All(data[..612], b => Assert.Equal(7, b));
        Assert.All(data[612..], b => Assert.Equal(0, b));
    }
}
