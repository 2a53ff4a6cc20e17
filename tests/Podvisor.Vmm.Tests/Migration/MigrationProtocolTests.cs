using System.Buffers.Binary;
using System.IO.Pipelines;
using Podvisor.Vmm.Migration;

namespace Podvisor.Vmm.Tests.Migration;

/// <summary>The wire protocol without KVM: page batches, framing, the handshake, and what a hostile peer can send.</summary>
public sealed class MigrationProtocolTests
{
    private static byte[] Page(byte fill)
    {
        var page = new byte[PageBatch.PageSize];
        page.AsSpan().Fill(fill);
        page[17] = 0;
        return page;
    }

    private static GuestPages Ram(byte[] ram) => (page, pages) => ram.AsMemory((int)page * PageBatch.PageSize, pages * PageBatch.PageSize);

    /// <summary>Sends the batch from <paramref name="source"/> over a pipe; the other end reads it into <paramref name="target"/>.</summary>
    private static async Task<(int Length, int Pages)> CrossAsync(PageBatch batch, GuestPages source, ulong targetPages, GuestPages target)
    {
        var cancel = TestContext.Current.CancellationToken;
        var (a, b) = Pipe();
        var sending = new MigrationChannel(a).SendPagesAsync(batch, source, cancel);
        var receiver = new MigrationChannel(b);
        var (type, length) = await receiver.ReceiveHeaderAsync(cancel);
        Assert.Equal(MigrationMessage.Pages, type);
        int pages = await receiver.ReceivePagesAsync(length, targetPages, target, cancel);
        await sending;
        return (length, pages);
    }

    [Fact]
    public async Task APageBatchCarriesPagesAndZerosToTheirPlaces()
    {
        var source = new byte[16 * PageBatch.PageSize];
        byte fill = 0x10;
        foreach (int p in new[] { 0, 3, 4, 9, 10, 11, 12, 13 }) Page(fill++).CopyTo(source, p * PageBatch.PageSize);
        var batch = new PageBatch();
        Assert.False(batch.Add(3, source.AsSpan(3 * PageBatch.PageSize, PageBatch.PageSize)));
        Assert.True(batch.Add(7, source.AsSpan(7 * PageBatch.PageSize, PageBatch.PageSize)));
        Assert.False(batch.Add(4, source.AsSpan(4 * PageBatch.PageSize, PageBatch.PageSize)));
        Assert.False(batch.Add(0, source.AsSpan(0, PageBatch.PageSize)));
        for (ulong p = 9; p <= 13; p++) batch.Add(p, source.AsSpan((int)p * PageBatch.PageSize, PageBatch.PageSize));   // a run long enough to go unstaged
        Assert.Equal(4 + 9 * 8 + 8 * PageBatch.PageSize, batch.PayloadLength);     // zeros travel as their number alone

        var target = new byte[16 * PageBatch.PageSize];
        target.AsSpan(7 * PageBatch.PageSize, PageBatch.PageSize).Fill(0xee);        // stale contents the zeros replace
        var (length, pages) = await CrossAsync(batch, Ram(source), 16, Ram(target));

        Assert.Equal(batch.PayloadLength, length);
        Assert.Equal(9, pages);
        Assert.Equal(source, target);
        batch.Clear();
        Assert.Equal(0, batch.Count);
        Assert.Equal(4, batch.PayloadLength);
    }

    [Fact]
    public async Task AFullBatchOfScatteredPagesCrossesThroughTheStagingBufferIntact()
    {
        const int pages = 2 * PageBatch.MaxPages;
        var source = new byte[pages * PageBatch.PageSize];
        Random.Shared.NextBytes(source);
        var batch = new PageBatch();
        for (int p = 1; p < pages; p += 2) batch.Add((ulong)p, source.AsSpan(p * PageBatch.PageSize, PageBatch.PageSize));   // no two adjacent: 1 MiB staged
        Assert.True(batch.IsFull);

        var target = new byte[source.Length];
        var (length, count) = await CrossAsync(batch, Ram(source), pages, Ram(target));

        Assert.Equal(PageBatch.MaxBytes, length);
        Assert.Equal(PageBatch.MaxPages, count);
        for (int p = 0; p < pages; p++)
        {
            var expected = p % 2 == 1 ? source.AsSpan(p * PageBatch.PageSize, PageBatch.PageSize) : new byte[PageBatch.PageSize];
            Assert.True(expected.SequenceEqual(target.AsSpan(p * PageBatch.PageSize, PageBatch.PageSize)), $"page {p}");
        }
    }

    [Fact]
    public void RunsFollowGuestRamAndStopAtZerosGapsAndGibBoundaries()
    {
        const ulong b = PageBatch.RunBoundaryPages;
        ulong[] words = [5 << 1, 6 << 1, 7 << 1 | 1, 8 << 1, 10 << 1, 9 << 1, (b - 1) << 1, b << 1, (b + 1) << 1];
        var runs = new List<PageRun>();
        int index = 0;
        while (PageBatch.NextRun(words, ref index, out var run)) runs.Add(run);
        Assert.Equal(
            [new(5, 2, false), new(7, 1, true), new(8, 1, false), new(10, 1, false), new(9, 1, false), new(b - 1, 1, false), new(b, 2, false)],
            runs);
    }

    [Fact]
    public async Task ZeroPagesLeaveUntouchedTargetMemoryUnallocated()
    {
        const int pages = 8192;                                      // 32 MiB of zero pages, as a balloon's freed memory arrives
        using var memory = new Podvisor.Kvm.HostMemory(pages * (ulong)PageBatch.PageSize, transparentHugePages: true);
        memory.Write(5 * PageBatch.PageSize, Page(0x77));             // one page the target holds stale contents in
        var batch = new PageBatch();
        for (int page = 0; page < pages; page++)
        {
            batch.AddZero((ulong)page);
            if (!batch.IsFull && page != pages - 1) continue;
            await CrossAsync(batch, (_, _) => throw new InvalidOperationException("a zero page was read"), pages, PageBatch.PagesOf(memory));
            batch.Clear();
        }

        Assert.False(memory.GetSpan(5 * PageBatch.PageSize, PageBatch.PageSize).ContainsAnyExcept((byte)0));
        // Reading untouched anonymous memory maps the kernel's shared zero page, which smaps does not count as Anonymous.
        long anonymousKiB = AnonymousKiB(memory.HostAddress);
        Assert.True(anonymousKiB <= 2048 + 4, $"{anonymousKiB} KiB allocated for 32 MiB of zero pages");
    }

    private static long AnonymousKiB(ulong address)
    {
        var lines = File.ReadAllLines("/proc/self/smaps");
        int header = Array.FindIndex(lines, l => l.StartsWith(address.ToString("x") + "-", StringComparison.Ordinal));
        Assert.True(header >= 0, $"mapping {address:x} not in smaps");
        string line = lines.Skip(header + 1).First(l => l.StartsWith("Anonymous:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    /// <summary>A Pages frame as a hostile source could write it: <paramref name="length"/>, a count, words, then <paramref name="data"/> bytes.</summary>
    private static byte[] PagesFrame(int length, int count, ulong[] words, int data)
    {
        var frame = new byte[5 + 4 + words.Length * 8 + data];
        frame[0] = (byte)MigrationMessage.Pages;
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(1), length);
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(5), count);
        for (int i = 0; i < words.Length; i++) BinaryPrimitives.WriteUInt64LittleEndian(frame.AsSpan(9 + i * 8), words[i]);
        frame.AsSpan(9 + words.Length * 8).Fill(0x42);
        return frame;
    }

    [Fact]
    public async Task AHostileBatchIsRefusedBeforeAnythingOutsideGuestMemoryIsTouched()
    {
        var cancel = TestContext.Current.CancellationToken;
        var ram = new byte[8 * PageBatch.PageSize];
        async Task<MigrationException> Receive(byte[] frame, bool close = false)
        {
            var (a, b) = Pipe();
            await b.WriteAsync(frame, cancel);
            await b.FlushAsync(cancel);
            if (close) b.Dispose();
            var channel = new MigrationChannel(a);
            var (_, length) = await channel.ReceiveHeaderAsync(cancel);
            return await Assert.ThrowsAsync<MigrationException>(() => channel.ReceivePagesAsync(length, 8, Ram(ram), cancel));
        }
        const int page = PageBatch.PageSize;

        Assert.Contains("page 8; guest memory has 8", (await Receive(PagesFrame(4 + 16 + page, 2, [1 << 1, 8 << 1], page))).Message);
        Assert.Contains("its 1 pages (1 with data) take", (await Receive(PagesFrame(4 + 8 + page + 1, 1, [1 << 1], page + 1))).Message);
        Assert.Contains("its 2 pages (1 with data) take", (await Receive(PagesFrame(4 + 16, 2, [1 << 1, 2 << 1 | 1], 0))).Message);
        Assert.Contains("at most", (await Receive(PagesFrame(4, PageBatch.MaxPages + 1, [], 0))).Message);
        Assert.Contains("at most", (await Receive(PagesFrame(4, -1, [], 0))).Message);
        Assert.Contains("cannot hold the words of its 3 pages", (await Receive(PagesFrame(4 + 16, 3, [1 << 1, 2 << 1], 0))).Message);
        Assert.Contains("without its count", (await Receive([(byte)MigrationMessage.Pages, 2, 0, 0, 0, 1, 2])).Message);
        Assert.False(ram.AsSpan().ContainsAnyExcept((byte)0));      // every one refused before any page was written
        Assert.Contains("closed the connection while this side waited for a Pages message",
            (await Receive(PagesFrame(4 + 8 + page, 1, [3 << 1], page - 1), close: true)).Message);
    }

    private static (Stream A, Stream B) Pipe()
    {
        var ab = new Pipe();
        var ba = new Pipe();
        return (new DuplexStream(ba.Reader.AsStream(), ab.Writer.AsStream()), new DuplexStream(ab.Reader.AsStream(), ba.Writer.AsStream()));
    }

    [Fact]
    public async Task FramesCrossAndAnAbortArrivesAsTheReason()
    {
        var cancel = TestContext.Current.CancellationToken;
        var (a, b) = Pipe();
        var left = new MigrationChannel(a);
        var right = new MigrationChannel(b);
        await Task.WhenAll(left.HandshakeAsync(cancel), right.HandshakeAsync(cancel));

        await left.SendAsync(MigrationMessage.Accept, new byte[] { 1, 2, 3 }, cancel);
        var (type, payload) = await right.ReceiveAsync(cancel);
        Assert.Equal(MigrationMessage.Accept, type);
        Assert.Equal([1, 2, 3], payload.ToArray());

        await left.SendAsync(MigrationMessage.Running, ReadOnlyMemory<byte>.Empty, cancel);
        Assert.Contains("expected Go from the peer, it sent Running",
            (await Assert.ThrowsAsync<MigrationException>(() => right.ExpectAsync(MigrationMessage.Go, cancel))).Message);

        await left.SendAbortAsync("disk full on the target", cancel);
        Assert.Contains("the peer aborted the migration: disk full on the target",
            (await Assert.ThrowsAsync<MigrationException>(() => right.ReceiveAsync(cancel))).Message);
    }

    [Fact]
    public async Task AnUnknownPeerAnOldVersionAndOversizedOrUnknownFramesAreRefused()
    {
        var cancel = TestContext.Current.CancellationToken;
        async Task<MigrationException> HandshakeWith(byte[] theirs)
        {
            var (a, b) = Pipe();
            await b.WriteAsync(theirs, cancel);
            await b.FlushAsync(cancel);
            return await Assert.ThrowsAsync<MigrationException>(() => new MigrationChannel(a).HandshakeAsync(cancel));
        }
        Assert.Contains("not a Podvisor migration endpoint", (await HandshakeWith("GET "u8.ToArray())).Message);
        Assert.Contains("protocol version 9", (await HandshakeWith([0x50, 0x56, 0x4d, 9])).Message);

        async Task<MigrationException> Receive(byte[] frame)
        {
            var (a, b) = Pipe();
            await b.WriteAsync(frame, cancel);
            await b.FlushAsync(cancel);
            return await Assert.ThrowsAsync<MigrationException>(() => new MigrationChannel(a).ReceiveAsync(cancel));
        }
        Assert.Contains("unknown message type 99", (await Receive([99, 0, 0, 0, 0])).Message);
        Assert.Contains("at most", (await Receive([(byte)MigrationMessage.State, 0xff, 0xff, 0xff, 0x7f])).Message);

        var (x, y) = Pipe();
        await y.WriteAsync(new byte[] { (byte)MigrationMessage.Pages, 10, 0, 0, 0, 1, 2 }, cancel);
        y.Dispose();
        Assert.Contains("closed the connection while this side waited for a Pages message",
            (await Assert.ThrowsAsync<MigrationException>(() => new MigrationChannel(x).ReceiveAsync(cancel))).Message);
    }

    [Fact]
    public void TheRunningReportCarriesMicrosecondsAndAMalformedOneIsRefused()
    {
        Assert.Equal(TimeSpan.FromMicroseconds(1234), RunningReport.Decode(RunningReport.Encode(TimeSpan.FromMicroseconds(1234.9))));
        Assert.Equal(TimeSpan.Zero, RunningReport.Decode(RunningReport.Encode(TimeSpan.FromMilliseconds(-1))));
        Assert.Contains("has 0 bytes, not 8", Assert.Throws<MigrationException>(() => RunningReport.Decode(ReadOnlyMemory<byte>.Empty)).Message);
        Assert.Contains("ran -1 µs", Assert.Throws<MigrationException>(() => RunningReport.Decode(Enumerable.Repeat((byte)0xff, 8).ToArray())).Message);
    }

    [Fact]
    public void OptionsOutsideTheirRangeAreRefused()
    {
        Assert.Contains("downtime", Assert.Throws<ArgumentException>(() => new MigrationOptions { MaxDowntime = TimeSpan.Zero }.Validate()).Message);
        Assert.Contains("progress timeout", Assert.Throws<ArgumentException>(() => new MigrationOptions { ProgressTimeout = TimeSpan.FromSeconds(-1) }.Validate()).Message);
        new MigrationOptions().Validate();
    }

    /// <summary>One stream that reads from one pipe and writes to another.</summary>
    private sealed class DuplexStream(Stream read, Stream write) : LinkStream
    {
        public override int Read(byte[] buffer, int offset, int count) => read.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel = default) => read.ReadAsync(buffer, cancel);
        public override void Write(byte[] buffer, int offset, int count) => write.Write(buffer, offset, count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancel = default) => write.WriteAsync(buffer, cancel);
        public override Task FlushAsync(CancellationToken cancel) => write.FlushAsync(cancel);
        public override void Flush() => write.Flush();
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                read.Dispose();
                write.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
