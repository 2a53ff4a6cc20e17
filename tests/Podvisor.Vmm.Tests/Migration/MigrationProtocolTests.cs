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

    [Fact]
    public void APageBatchCarriesPagesAndZerosToTheirPlaces()
    {
        var batch = new PageBatch();
        Assert.False(batch.Add(3, Page(0xab)));
        Assert.True(batch.Add(7, new byte[PageBatch.PageSize]));
        Assert.False(batch.Add(0, Page(0x01)));
        Assert.Equal(4 + 3 * 8 + 2 * PageBatch.PageSize, batch.Payload.Length);     // zeros travel as their number alone

        var ram = new byte[8 * PageBatch.PageSize];
        ram.AsSpan(7 * PageBatch.PageSize, PageBatch.PageSize).Fill(0xee);           // stale contents the zeros replace
        int applied = PageBatch.Apply(batch.Payload.Span, 8, p => ram.AsSpan((int)p * PageBatch.PageSize, PageBatch.PageSize));

        Assert.Equal(3, applied);
        Assert.Equal(Page(0xab), ram.AsSpan(3 * PageBatch.PageSize, PageBatch.PageSize).ToArray());
        Assert.Equal(Page(0x01), ram.AsSpan(0, PageBatch.PageSize).ToArray());
        Assert.False(ram.AsSpan(7 * PageBatch.PageSize, PageBatch.PageSize).ContainsAnyExcept((byte)0));
        batch.Clear();
        Assert.Equal(0, batch.Count);
        Assert.Equal(4, batch.Payload.Length);
    }

    [Fact]
    public void ZeroPagesLeaveUntouchedTargetMemoryUnallocated()
    {
        const int pages = 8192;                                      // 32 MiB of zero pages, as a balloon's freed memory arrives
        using var memory = new Podvisor.Kvm.HostMemory(pages * (ulong)PageBatch.PageSize, transparentHugePages: true);
        memory.Write(5 * PageBatch.PageSize, Page(0x77));             // one page the target holds stale contents in
        var batch = new PageBatch();
        for (int page = 0; page < pages; page++)
        {
            batch.Add((ulong)page, new byte[PageBatch.PageSize]);
            if (!batch.IsFull && page != pages - 1) continue;
            PageBatch.Apply(batch.Payload.Span, pages, p => memory.GetSpan(p * PageBatch.PageSize, PageBatch.PageSize));
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

    [Fact]
    public void AHostileBatchIsRefusedBeforeAnythingOutsideGuestMemoryIsTouched()
    {
        var batch = new PageBatch();
        batch.Add(8, Page(0x42));       // one past the end of an 8-page guest
        var ram = new byte[8 * PageBatch.PageSize];
        Span<byte> Span(ulong p) => ram.AsSpan((int)p * PageBatch.PageSize, PageBatch.PageSize);

        Assert.Contains("page 8; guest memory has 8", Assert.Throws<MigrationException>(() => PageBatch.Apply(batch.Payload.Span, 8, Span)).Message);

        batch.Clear();
        batch.Add(1, Page(0x42));
        var cut = batch.Payload[..^1].ToArray();
        Assert.Contains("cut short", Assert.Throws<MigrationException>(() => PageBatch.Apply(cut, 8, Span)).Message);
        byte[] trailing = [.. batch.Payload.ToArray(), 0];
        Assert.Contains("after its 1 pages", Assert.Throws<MigrationException>(() => PageBatch.Apply(trailing, 8, Span)).Message);
        var huge = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(huge, PageBatch.MaxPages + 1);
        Assert.Contains("at most", Assert.Throws<MigrationException>(() => PageBatch.Apply(huge, 8, Span)).Message);
        Assert.Contains("without its count", Assert.Throws<MigrationException>(() => PageBatch.Apply([1, 2], 8, Span)).Message);
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
