using Podvisor.Vmm.Memory;
using Podvisor.Vmm.Virtio;

namespace Podvisor.Vmm.Tests.Virtio;

/// <summary>The split virtqueue against a fake driver: well-formed chains, and every malformed one a hostile
/// driver could build refused, counted and handed back, never followed outside guest RAM.</summary>
public sealed class VirtqueueTests : IDisposable
{
    private const ulong RamSize = 1 << 20;
    private readonly GuestRam _ram = new(RamSize);
    private readonly FakeDriver _driver;
    private readonly Virtqueue _queue = new(16);

    public VirtqueueTests()
    {
        _driver = new FakeDriver(_ram, 16);
        _driver.Attach(_queue);
    }

    public void Dispose() => _ram.Dispose();

    [Fact]
    public void PopsAChainWithReadableBuffersBeforeWritableOnes()
    {
        ushort head = _driver.AddChain((0x10000, 16, false), (0x11000, 512, true), (0x12000, 1, true));
        Assert.True(_queue.TryPop(out var chain));
        Assert.Equal(head, chain.HeadIndex);
        Assert.Equal(16u, chain.ReadableLength);
        Assert.Equal(513u, chain.WritableLength);
        Assert.Equal([new GuestBuffer(new(0x10000), 16, false), new(new(0x11000), 512, true), new(new(0x12000), 1, true)], chain.Buffers);
        Assert.False(_queue.TryPop(out _));

        _queue.AddUsed(chain.HeadIndex, 513);
        Assert.Equal([(head, 513u)], _driver.TakeUsed());
    }

    [Fact]
    public void ReaderAndWriterCrossBufferBoundaries()
    {
        _ram.Write(new GuestAddress(0x10000), [1, 2, 3]);
        _ram.Write(new GuestAddress(0x10100), [4, 5]);
        _driver.AddChain((0x10000, 3, false), (0x10100, 2, false), (0x11000, 2, true), (0x11100, 3, true));
        Assert.True(_queue.TryPop(out var chain));
        var reader = chain.Reader(_ram);
        var bytes = new byte[5];
        Assert.True(reader.TryRead(bytes));
        Assert.Equal([1, 2, 3, 4, 5], bytes);
        Assert.False(reader.TryRead(new byte[1]));

        var writer = chain.Writer(_ram);
        Assert.True(writer.TryWrite([9, 8, 7, 6]));
        Assert.False(writer.TryWrite([1, 2]));
        Assert.True(writer.TryWrite([5]));
        Assert.Equal(5u, writer.Written);
        Assert.Equal([9, 8], _ram.GetReadOnlySpan(new GuestAddress(0x11000), 2).ToArray());
        Assert.Equal([7, 6, 5], _ram.GetReadOnlySpan(new GuestAddress(0x11100), 3).ToArray());
    }

    [Fact]
    public void ZeroCopySegmentsMergeBuffersThatAreAdjacentInGuestMemory()
    {
        // readable: 0x10000+100 and 0x10064+50 adjoin, 0x10200 does not; writable: three adjoining pages, then a gap.
        _driver.AddChain((0x10000, 100, false), (0x10064, 50, false), (0x10200, 10, false),
            (0x20000, 4096, true), (0x21000, 4096, true), (0x22000, 4096, true), (0x30000, 1, true));
        Assert.True(_queue.TryPop(out var chain));
        var reader = chain.Reader(_ram);
        Assert.True(reader.TryRead(new byte[20]));                  // a segment may start inside a buffer
        var readable = new List<ReadOnlyMemory<byte>>();
        Assert.True(reader.TryTakeSegments(135, readable));
        Assert.Equal([130, 5], readable.Select(m => m.Length));
        Assert.Equal(5u, reader.Remaining);

        var writer = chain.Writer(_ram);
        var writable = new List<Memory<byte>>();
        Assert.True(writer.TryTakeSegments(3 * 4096 - 100, writable));   // stops inside the third page
        Assert.Equal([3 * 4096 - 100], writable.Select(m => m.Length));
        writable.Clear();
        Assert.True(writer.TryTakeSegments(101, writable));
        Assert.Equal([100, 1], writable.Select(m => m.Length));
        Assert.Equal((uint)(3 * 4096 + 1), writer.Written);
        writable[1].Span[0] = 0x42;
        Assert.Equal(0x42, _ram.GetReadOnlySpan(new GuestAddress(0x30000), 1)[0]);
    }

    [Fact]
    public void FollowsAnIndirectTable()
    {
        ushort head = _driver.AddIndirectChain(new GuestAddress(0x8000), (0x10000, 16, false), (0x11000, 4096, true), (0x12000, 1, true));
        Assert.True(_queue.TryPop(out var chain));
        Assert.Equal(head, chain.HeadIndex);
        Assert.Equal(3, chain.Buffers.Length);
        Assert.Equal(4097u, chain.WritableLength);
    }

    [Fact]
    public void ALongIndirectChainKeepsEveryBufferInOrderAndTheNextChainOnlyItsOwn()
    {
        // 258 buffers (a 1 MiB request of scattered pages), then a short chain: the parser's scratch space grows for
        // the first and must not leak its buffers into the second.
        var buffers = new (ulong, uint, bool)[258];
        buffers[0] = (0x10000, 16, false);
        for (int i = 1; i < 257; i++) buffers[i] = (0x20000 + (ulong)i * 0x400, 512, true);
        buffers[257] = (0x12000, 1, true);
        _driver.AddIndirectChain(new GuestAddress(0x8000), buffers);
        _driver.AddChain((0x10000, 16, false), (0x12000, 1, true));
        Assert.True(_queue.TryPop(out var chain));
        Assert.Equal(buffers.Select(b => new GuestBuffer(new(b.Item1), b.Item2, b.Item3)), chain.Buffers.ToArray());
        Assert.Equal(256u * 512 + 1, chain.WritableLength);
        Assert.True(_queue.TryPop(out var next));
        Assert.Equal([new GuestBuffer(new(0x10000), 16, false), new(new(0x12000), 1, true)], next.Buffers.ToArray());
    }

    [Fact]
    public void WrapsAroundTheRingMoreThanOnce()
    {
        for (int i = 0; i < 100; i++)
        {
            ushort head = _driver.AddChain((0x10000, 8, true));
            Assert.True(_queue.TryPop(out var chain));
            Assert.Equal(head, chain.HeadIndex);
            _queue.AddUsed(chain.HeadIndex, 8);
            Assert.Equal([(head, 8u)], _driver.TakeUsed());
        }
    }

    /// <summary>Writes one malformed chain; the queue must refuse it with the error and return the head.</summary>
    private void AssertRefused(ChainError expected, Action<FakeDriver> build, bool returnedToDriver = true)
    {
        build(_driver);
        Assert.False(_queue.TryPop(out _));
        Assert.Equal(1, _queue.Errors[expected]);
        Assert.Equal(1, _queue.Errors.Total);
        var used = _driver.TakeUsed();
        if (returnedToDriver) Assert.Equal(0u, Assert.Single(used).Length);
        else Assert.Empty(used);

        // The queue still works for a good chain afterwards.
        _driver.WriteDescriptor(5, 0x10000, 8, Descriptor.FlagWrite, 0);
        _driver.Publish(5);
        Assert.True(_queue.TryPop(out var good));
        Assert.Equal(5, good.HeadIndex);
    }

    [Fact]
    public void RefusesALoop() => AssertRefused(ChainError.ChainTooLong, d =>
    {
        d.WriteDescriptor(0, 0x10000, 8, Descriptor.FlagNext, 1);
        d.WriteDescriptor(1, 0x10000, 8, Descriptor.FlagNext, 0);
        d.Publish(0);
    });

    [Fact]
    public void RefusesASelfLoop() => AssertRefused(ChainError.ChainTooLong, d =>
    {
        d.WriteDescriptor(3, 0x10000, 8, Descriptor.FlagNext, 3);
        d.Publish(3);
    });

    [Fact]
    public void RefusesANextIndexBeyondTheTable() => AssertRefused(ChainError.NextOutOfRange, d =>
    {
        d.WriteDescriptor(0, 0x10000, 8, Descriptor.FlagNext, 16);
        d.Publish(0);
    });

    [Fact]
    public void RefusesAHeadBeyondTheTable() => AssertRefused(ChainError.HeadOutOfRange, d => d.Publish(40), returnedToDriver: false);

    [Fact]
    public void RefusesABufferOutsideGuestRam() => AssertRefused(ChainError.BufferOutOfRange, d =>
    {
        d.WriteDescriptor(0, RamSize - 4, 8, Descriptor.FlagWrite, 0);
        d.Publish(0);
    });

    [Fact]
    public void RefusesABufferWhoseEndOverflows() => AssertRefused(ChainError.BufferOutOfRange, d =>
    {
        d.WriteDescriptor(0, ulong.MaxValue - 2, 8, 0, 0);
        d.Publish(0);
    });

    [Fact]
    public void RefusesAHugeBuffer() => AssertRefused(ChainError.BufferOutOfRange, d =>
    {
        d.WriteDescriptor(0, 0, uint.MaxValue, Descriptor.FlagWrite, 0);
        d.Publish(0);
    });

    [Fact]
    public void RefusesAZeroLengthBuffer() => AssertRefused(ChainError.ZeroLengthBuffer, d =>
    {
        d.WriteDescriptor(0, 0x10000, 8, Descriptor.FlagNext, 1);
        d.WriteDescriptor(1, 0x11000, 0, Descriptor.FlagWrite, 0);
        d.Publish(0);
    });

    [Fact]
    public void RefusesReadableAfterWritable() => AssertRefused(ChainError.ReadableAfterWritable, d =>
    {
        d.WriteDescriptor(0, 0x10000, 8, Descriptor.FlagWrite | Descriptor.FlagNext, 1);
        d.WriteDescriptor(1, 0x11000, 8, 0, 0);
        d.Publish(0);
    });

    [Fact]
    public void RefusesNestedIndirectTables() => AssertRefused(ChainError.NestedIndirect, d =>
    {
        d.WriteDescriptorAt(new GuestAddress(0x8000), 0, 0x9000, 16, Descriptor.FlagIndirect, 0);
        d.WriteDescriptor(0, 0x8000, 16, Descriptor.FlagIndirect, 0);
        d.Publish(0);
    });

    [Fact]
    public void RefusesIndirectWithNext() => AssertRefused(ChainError.IndirectWithNext, d =>
    {
        d.WriteDescriptorAt(new GuestAddress(0x8000), 0, 0x10000, 8, Descriptor.FlagWrite, 0);
        d.WriteDescriptor(0, 0x8000, 16, Descriptor.FlagIndirect | Descriptor.FlagNext, 1);
        d.Publish(0);
    });

    [Fact]
    public void RefusesIndirectWhenNotNegotiated()
    {
        _queue.IndirectDescriptors = false;
        AssertRefused(ChainError.IndirectNotNegotiated, d =>
        {
            d.WriteDescriptorAt(new GuestAddress(0x8000), 0, 0x10000, 8, Descriptor.FlagWrite, 0);
            d.WriteDescriptor(0, 0x8000, 16, Descriptor.FlagIndirect, 0);
            d.Publish(0);
        });
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(15u)]
    [InlineData(17u)]
    [InlineData(16u * (DescriptorChain.MaxIndirectDescriptors + 1))]
    public void RefusesBadIndirectTableLengths(uint length) => AssertRefused(ChainError.BadIndirectLength, d =>
    {
        d.WriteDescriptor(0, 0x8000, length, Descriptor.FlagIndirect, 0);
        d.Publish(0);
    });

    [Fact]
    public void RefusesAnIndirectTableOutsideGuestRam() => AssertRefused(ChainError.DescriptorOutOfRange, d =>
    {
        d.WriteDescriptor(0, RamSize - 16, 32, Descriptor.FlagIndirect, 0);
        d.Publish(0);
    });

    [Fact]
    public void RefusesALoopInsideAnIndirectTable() => AssertRefused(ChainError.ChainTooLong, d =>
    {
        var table = new GuestAddress(0x8000);
        d.WriteDescriptorAt(table, 0, 0x10000, 8, Descriptor.FlagNext, 1);
        d.WriteDescriptorAt(table, 1, 0x10000, 8, Descriptor.FlagNext, 0);
        d.WriteDescriptor(0, table.Value, 32, Descriptor.FlagIndirect, 0);
        d.Publish(0);
    });

    [Fact]
    public void RefusesChainsLargerThanFourGiB()
    {
        // 16 descriptors of 512 MiB each, all in a 1 GiB guest: each buffer is valid, the sum is not.
        using var ram = new GuestRam(1UL << 30);
        var driver = new FakeDriver(ram, 16);
        var queue = driver.Attach(new Virtqueue(16));
        for (ushort i = 0; i < 16; i++) driver.WriteDescriptor(i, 0x2000_0000, 0x2000_0000, (ushort)(Descriptor.FlagWrite | (i < 15 ? Descriptor.FlagNext : 0)), (ushort)(i + 1));
        driver.Publish(0);
        Assert.False(queue.TryPop(out _));
        Assert.Equal(1, queue.Errors[ChainError.ChainTooLarge]);
    }

    [Fact]
    public void AnAvailIndexJumpBreaksTheQueueUntilReset()
    {
        _driver.SetAvailIndex(100);
        Assert.False(_queue.TryPop(out _));
        Assert.Equal(1, _queue.Errors[ChainError.AvailIndexJump]);
        Assert.False(_queue.TryPop(out _));
        Assert.Equal(1, _queue.Errors[ChainError.AvailIndexJump]);   // not counted again: the queue is off

        _queue.Reset();
        var driver = new FakeDriver(_ram, 16);
        var queue = driver.Attach(_queue);
        driver.AddChain((0x10000, 8, true));
        Assert.True(queue.TryPop(out _));
    }

    [Fact]
    public void RejectsRingsOutsideRamMisalignedOrOfBadSize()
    {
        var q = new Virtqueue(256);
        q.Size = 256;
        q.DescriptorTable = new GuestAddress(RamSize - 16);
        q.AvailRing = new GuestAddress(0x3000);
        q.UsedRing = new GuestAddress(0x4000);
        Assert.Contains("descriptor table", q.TryMakeReady(_ram));
        q.DescriptorTable = new GuestAddress(0x1008);
        Assert.Contains("misaligned", q.TryMakeReady(_ram));
        q.DescriptorTable = new GuestAddress(0x1000);
        q.Size = 100;
        Assert.Contains("power of two", q.TryMakeReady(_ram));
        q.Size = 512;
        Assert.Contains("power of two", q.TryMakeReady(_ram));
        q.Size = 256;
        Assert.Null(q.TryMakeReady(_ram));
        Assert.True(q.Ready);
    }

    [Fact]
    public void WithoutEventIndexTheDriverCanSilenceInterrupts()
    {
        _driver.AddChain((0x10000, 8, true));
        Assert.True(_queue.TryPop(out var chain));
        _queue.AddUsed(chain.HeadIndex, 8);
        Assert.True(_queue.ShouldInterrupt());
        _driver.SetAvailFlags(1);   // VRING_AVAIL_F_NO_INTERRUPT
        Assert.False(_queue.ShouldInterrupt());
    }

    [Fact]
    public void WithEventIndexTheDeviceInterruptsOnlyWhenUsedEventIsPassed()
    {
        var driver = new FakeDriver(_ram, 16, 0x20000, 0x22000, 0x23000);
        var queue = driver.Attach(new Virtqueue(16), eventIndex: true);

        // The device asks to be notified for the next available entry once the ring is empty.
        Assert.False(queue.TryPop(out _));
        Assert.Equal(0, driver.AvailEvent);
        for (int i = 0; i < 4; i++) driver.AddChain((0x10000, 8, true));
        var heads = new List<ushort>();
        while (queue.TryPop(out var c)) heads.Add(c.HeadIndex);
        Assert.Equal(4, heads.Count);
        Assert.Equal(4, driver.AvailEvent);

        driver.SetUsedEvent(2);          // wake me when the third buffer is used
        queue.AddUsed(heads[0], 8);
        Assert.True(queue.ShouldInterrupt());    // the first interrupt is always sent
        queue.AddUsed(heads[1], 8);
        Assert.False(queue.ShouldInterrupt());   // used idx 2: not past used_event 2 yet
        queue.AddUsed(heads[2], 8);
        Assert.True(queue.ShouldInterrupt());    // used idx 3 > 2
        queue.AddUsed(heads[3], 8);
        Assert.False(queue.ShouldInterrupt());
    }

    [Fact]
    public void SavedStateRestoresWhereTheQueueLeftOff()
    {
        for (int i = 0; i < 3; i++) _driver.AddChain((0x10000, 8, true));
        Assert.True(_queue.TryPop(out var first));
        _queue.AddUsed(first.HeadIndex, 8);
        var state = _queue.SaveState();

        var restored = new Virtqueue(16);
        restored.RestoreState(state, _ram);
        Assert.True(restored.Ready);
        Assert.True(restored.TryPop(out var second));
        Assert.Equal(1, second.HeadIndex);
        restored.AddUsed(second.HeadIndex, 8);
        Assert.Equal(2, _driver.UsedIndex);
    }
}
