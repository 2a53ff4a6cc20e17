using System.IO.Pipes;
using Microsoft.Win32.SafeHandles;

namespace Podvisor.Kvm.Tests;

/// <summary>The io_uring binding: vectored file I/O through the rings, fsync, completion wake-ups, slots.</summary>
public sealed class IoUringTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-uring-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private SafeFileHandle File(byte[] contents)
    {
        string path = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        System.IO.File.WriteAllBytes(path, contents);
        return System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
    }

    private static (int Slot, int Result) TakeOne(IoUring ring)
    {
        ring.Wait();
        var done = new (int, int)[4];
        Assert.Equal(1, ring.TakeCompletions(done));
        return done[0];
    }

    [Fact]
    public void ReadsAndWritesAcrossSeveralBuffersAndFsyncs()
    {
        using var file = File([.. Enumerable.Range(0, 8192).Select(i => (byte)i)]);
        using var ring = new IoUring(8);
        var a = new byte[100];
        var b = new byte[300];
        ring.QueueRead(3, file, 1000, [a, b]);
        ring.Submit();
        Assert.Equal((3, 400), TakeOne(ring));
        Assert.Equal(Enumerable.Range(1000, 100).Select(i => (byte)i), a);
        Assert.Equal(Enumerable.Range(1100, 300).Select(i => (byte)i), b);

        ring.QueueWrite(5, file, 10, [new byte[] { 0xaa, 0xbb }, new byte[] { 0xcc }]);
        ring.Submit();
        Assert.Equal((5, 3), TakeOne(ring));
        ring.QueueFsync(5, file);                   // the slot is free again once its completion was taken
        ring.Submit();
        Assert.Equal((5, 0), TakeOne(ring));
        var back = new byte[3];
        RandomAccess.Read(file, back, 10);
        Assert.Equal([0xaa, 0xbb, 0xcc], back);
        Assert.Equal(0, ring.InFlight);
    }

    [Fact]
    public void ErrorsComeBackAsNegativeErrno()
    {
        string path = Path.Combine(_dir, "ro");
        System.IO.File.WriteAllBytes(path, new byte[512]);
        using var readOnly = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        using var ring = new IoUring(4);
        ring.QueueWrite(0, readOnly, 0, [new byte[16]]);
        ring.Submit();
        Assert.Equal((0, -Errnos.EBADF), TakeOne(ring));
    }

    [Fact]
    public void EveryCompletionSignalsTheEventFdAlsoOnesPostedFromTaskWork()
    {
        using var ring = new IoUring(4);
        using var completions = new EventFd(nonBlocking: true);
        ring.SignalCompletions(completions);

        using var file = File(new byte[4096]);
        ring.QueueRead(0, file, 0, [new byte[512]]);
        ring.Submit();
        TakeOne(ring);
        Assert.NotNull(completions.Read());

        // A pipe with nothing in it: the read waits in the kernel until data comes, and its completion is posted
        // from task work (what EVENTFD_ASYNC would never signal).
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        using var client = new AnonymousPipeClientStream(PipeDirection.In, server.ClientSafePipeHandle);
        var buffer = new byte[5];
        ring.QueueRead(1, client.SafePipeHandle, 0, [buffer]);
        ring.Submit();
        Assert.Equal(0, ring.Completed);
        Assert.Null(completions.Read());
        server.Write("hello"u8);
        server.Flush();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        ulong? signalled;
        while ((signalled = completions.Read()) is null && DateTime.UtcNow < deadline) Thread.Sleep(1);
        Assert.NotNull(signalled);
        Assert.Equal((1, 5), TakeOne(ring));
        Assert.Equal("hello"u8.ToArray(), buffer);
    }

    [Fact]
    public void TheBlockingWorkerLimitCanBeRaised()
    {
        using var ring = new IoUring(4);
        Assert.True(ring.LimitBlockingWorkers(64));       // kernels from 5.15 on; this one is newer
    }

    [Fact]
    public void ASlotCannotBeUsedTwiceWhileInFlight()
    {
        using var file = File(new byte[4096]);
        using var ring = new IoUring(4);
        ring.QueueRead(2, file, 0, [new byte[8]]);
        Assert.Throws<InvalidOperationException>(() => ring.QueueRead(2, file, 0, [new byte[8]]));
        ring.Submit();
        TakeOne(ring);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(3u)]
    [InlineData(8192u)]
    public void SizesMustBeAPowerOfTwoUpTo4096(uint entries) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new IoUring(entries));
}
