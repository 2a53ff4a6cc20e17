using System.Diagnostics;
using Podvisor.Testing;
using Podvisor.Vmm.Machine;
using Podvisor.Vmm.Memory;
using Podvisor.Vmm.Migration;
using static Podvisor.Vmm.Tests.CountingGuestProbe;

namespace Podvisor.Vmm.Tests.Migration;

/// <summary>
/// Live migration of running VMs between two VMMs in this process over loopback TCP, on this host's KVM
/// (hand-built PVH guests: kvm_pvm runs them). The invariants: memory arrives whole, the guest carries on
/// where it was, and a migration that fails or is cancelled leaves the VM running on the source.
/// </summary>
public sealed class LiveMigrationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-migration-").FullName;
    private readonly List<VirtualMachine> _vms = [];

    public void Dispose()
    {
        foreach (var vm in _vms) vm.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private MachineConfig Config(string kernel, ulong memoryMiB = 64) => new() { KernelPath = kernel, MemoryMiB = memoryMiB, CommandLine = "" };

    private VirtualMachine StartSource(MachineConfig config)
    {
        var vm = VirtualMachine.Create(config, _ => { });
        _vms.Add(vm);
        vm.Start();
        return vm;
    }

    private VirtualMachine Incoming(MachineConfig config)
    {
        var vm = VirtualMachine.CreateIncoming(config, _ => { });
        _vms.Add(vm);
        return vm;
    }

    /// <summary>
    /// The source's side of the link, checking just before Go leaves — the source paused for good, the target holding
    /// everything and not yet running — that the target's RAM is the source's, byte for byte: a page the guest wrote
    /// during pre-copy and the dirty log missed would differ here.
    /// </summary>
    private static FrameWatchingStream CheckingRamAtHandover(Stream link, VirtualMachine source, VirtualMachine target, List<string> differences) =>
        new(link, MigrationMessage.Go, () => differences.AddRange(RamDifferences(source, target)), beforeSending: true);

    private static IEnumerable<string> RamDifferences(VirtualMachine source, VirtualMachine target)
    {
        const int chunk = 1 << 20;
        for (ulong offset = 0; offset < source.Memory.Size; offset += chunk)
        {
            var a = source.Memory.Host.GetSpan(offset, chunk);
            var b = target.Memory.Host.GetSpan(offset, chunk);
            if (a.SequenceEqual(b)) continue;
            int at = a.CommonPrefixLength(b);
            yield return $"byte 0x{offset + (ulong)at:x}: source {a[at]:x2}, target {b[at]:x2}";
        }
    }

    /// <summary>A counting guest running as the source once it has counted past <paramref name="counted"/>, and a target built for it.</summary>
    private (VirtualMachine Source, VirtualMachine Target) CountingPair(int pages, uint counted, ulong memoryMiB = 64)
    {
        var config = Config(CounterKernel(pages), memoryMiB);
        var source = StartSource(config);
        WaitFor(() => Counter(source) > counted, "the guest to count");
        return (source, Incoming(config));
    }

    private string CounterKernel(int pages)
    {
        string kernel = Path.Combine(_dir, $"counter-{pages}.elf");
        TinyPvhGuest.WriteCounter(kernel, pages);
        return kernel;
    }

    [Fact]
    public async Task MemoryArrivesByteForByteIncludingWhatTheVmmWroteDuringPreCopy()
    {
        string kernel = Path.Combine(_dir, "fill.elf");
        const int pages = 4096;
        TinyPvhGuest.WriteFillAndHalt(kernel, pages, pattern: 0x5eed_cafe);
        var config = Config(kernel);
        var source = StartSource(config);
        WaitFor(() => Counter(source) == 1, "the guest to fill its pages and halt");
        var target = Incoming(config);

        // A device writing guest memory during the full pass (the VMM's writes are not in KVM's dirty log): the
        // next round finds these few pages dirty and, the guest being idle, goes straight to stop-and-copy —
        // which must still send them.
        var vmmWrite = new GuestAddress(0x3_0000);          // low: the full pass has gone past it when the first batch leaves
        byte[] written = new byte[3 * 4096 + 100];
        Random.Shared.NextBytes(written);
        using var link = new LoopbackMigration();
        var duringFullPass = new RateLimitedStream(link.SourceLink, double.PositiveInfinity,
            onFirstWrite: () => written.CopyTo(source.Memory.GetSpan(vmmWrite, written.Length)));

        var receive = LoopbackMigration.ReceiveAsync(target, link.TargetLink, TestContext.Current.CancellationToken);
        var result = await new MigrationSender(source, duringFullPass).RunAsync(TestContext.Current.CancellationToken);
        var received = await receive;

        var stopped = await source.Stopped;
        Assert.Equal(StopReason.Migrated, stopped.Reason);
        Assert.Equal(VmState.Running, target.State);
        // The guest halted with interrupts off before the migration: nothing writes RAM on either side now.
        for (ulong offset = 0; offset < source.Memory.Size; offset += 1 << 20)
        {
            if (!source.Memory.Host.GetSpan(offset, 1 << 20).SequenceEqual(target.Memory.Host.GetSpan(offset, 1 << 20)))
                Assert.Fail($"guest RAM differs in the MiB at 0x{offset:x}");
        }
        Assert.Equal(written, target.Memory.GetReadOnlySpan(vmmWrite, written.Length).ToArray());
        Assert.Equal(TinyPvhGuest.FillWord(pages - 1, 0x5eed_cafe),
            target.Memory.ReadValue<uint>(new GuestAddress(TinyPvhGuest.ScratchAddress + (pages - 1) * 4096UL)));
        Assert.True(result.PagesSent >= pages, $"{result.PagesSent} pages sent; the guest wrote {pages}");
        Assert.True(result.ZeroPages > 0, "the untouched RAM should have been skipped as zeros");
        Assert.True(result.PagesSent < source.Memory.Size / 4096 / 2, $"{result.PagesSent} pages sent: zero pages were not skipped");
        Assert.True(received.Pages >= result.PagesSent, $"the target took {received.Pages} pages, the source sent {result.PagesSent} with contents");
        Assert.True(result.Downtime < result.Total);
    }

    [Fact]
    public async Task TheFullPassLeavesMemoryTheGuestNeverTouchedUnread()
    {
        string kernel = Path.Combine(_dir, "fill.elf");
        const int pages = 1024;
        TinyPvhGuest.WriteFillAndHalt(kernel, pages, pattern: 0x0dd_ba11);
        var config = Config(kernel, memoryMiB: 256);
        var source = StartSource(config);
        WaitFor(() => Counter(source) == 1, "the guest to fill its pages and halt");
        ulong residentBefore = source.Memory.Host.ResidentBytes();
        var target = Incoming(config);

        using var link = new LoopbackMigration();
        var receive = LoopbackMigration.ReceiveAsync(target, link.TargetLink, TestContext.Current.CancellationToken);
        var result = await new MigrationSender(source, link.SourceLink).RunAsync(TestContext.Current.CancellationToken);
        await receive;

        // Reading a never-written page maps the kernel's zero page into the source (and, under emulation, scanning
        // 4 KiB of zeros costs far more than asking the kernel): the full pass must not read what was never backed.
        ulong residentAfter = source.Memory.Host.ResidentBytes();
        Assert.True(residentAfter < residentBefore + (8 << 20),
            $"the source's RAM went from {residentBefore >> 20} MiB to {residentAfter >> 20} MiB resident: the full pass read untouched memory");
        ulong ramPages = source.Memory.Size / 4096;
        Assert.True(result.ZeroPages >= ramPages - residentBefore / 4096, $"{result.ZeroPages} of {ramPages} pages counted as zeros; {residentBefore >> 12} were backed");
        Assert.Equal(TinyPvhGuest.FillWord(pages - 1, 0x0dd_ba11),
            target.Memory.ReadValue<uint>(new GuestAddress(TinyPvhGuest.ScratchAddress + (pages - 1) * 4096UL)));
        Assert.Equal(VmState.Running, target.State);
    }

    [Fact]
    public async Task PagesTheBalloonGaveBackDuringPreCopyArriveAsZerosUnread()
    {
        string kernel = Path.Combine(_dir, "fill.elf");
        const int pages = 4096;                                       // 16 MiB the guest wrote
        TinyPvhGuest.WriteFillAndHalt(kernel, pages, pattern: 0xba11_0042);
        var config = Config(kernel);
        var source = StartSource(config);
        WaitFor(() => Counter(source) == 1, "the guest to fill its pages and halt");
        var target = Incoming(config);
        var filled = new GuestAddress(TinyPvhGuest.ScratchAddress);

        // After the full pass has sent the filled pages, the balloon (as free page reporting does) gives them back:
        // the target holds their old contents, so the rounds must send them again, as zeros.
        bool discarded = false;
        using var link = new LoopbackMigration();
        var watched = new FrameWatchingStream(link.SourceLink, MigrationMessage.Sync, () =>
        {
            if (discarded) return;
            discarded = true;
            Assert.True(source.Memory.Discard(filled, pages * 4096UL));
        }, beforeSending: true);
        ulong residentBefore = source.Memory.Host.ResidentBytes();

        var receive = LoopbackMigration.ReceiveAsync(target, link.TargetLink, TestContext.Current.CancellationToken);
        var result = await new MigrationSender(source, watched).RunAsync(TestContext.Current.CancellationToken);
        await receive;

        Assert.True(discarded);
        Assert.False(target.Memory.GetReadOnlySpan(filled, pages * 4096).ContainsAnyExcept((byte)0), "the target kept pages the source gave back");
        // Sent as zeros without being read: reading them would have mapped them on the source again.
        ulong residentAfter = source.Memory.Host.ResidentBytes();
        Assert.True(residentAfter + (12 << 20) < residentBefore,
            $"the source's resident RAM went from {residentBefore >> 20} MiB to {residentAfter >> 20} MiB: the rounds read the pages given back");
        Assert.True(result.ZeroPages >= pages, $"{result.ZeroPages} zero pages");
        Assert.Equal(VmState.Running, target.State);
    }

    [Fact]
    public async Task ARunningGuestKeepsCountingOnTheTarget()
    {
        var (source, target) = CountingPair(pages: 1024, counted: 100_000);

        using var link = new LoopbackMigration();
        var receive = LoopbackMigration.ReceiveAsync(target, link.TargetLink, TestContext.Current.CancellationToken);
        var differences = new List<string>();
        var result = await new MigrationSender(source, CheckingRamAtHandover(link.SourceLink, source, target, differences))
            .RunAsync(TestContext.Current.CancellationToken);
        await receive;
        Assert.True(differences.Count == 0, $"guest RAM differs at the handover: {string.Join("; ", differences)}");

        TestContext.Current.TestOutputHelper?.WriteLine(result.ToString());
        Assert.Equal(StopReason.Migrated, (await source.Stopped).Reason);
        uint final = Counter(source);          // the source's RAM as it was handed over
        Assert.True(Counter(target) >= final, $"the target's counter {Counter(target)} is behind the source's last {final}: the count was reset");
        WaitFor(() => Counter(target) > final + 100_000, "the guest to go on counting on the target");
        Assert.Equal(final, Counter(source));  // and nothing runs on the source any more
        Assert.True(result.Rounds >= 1);
        Assert.True(result.Downtime < TimeSpan.FromSeconds(2), $"downtime {result.Downtime.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task ACancelledMigrationLeavesTheVmRunningOnTheSource()
    {
        var (source, target) = CountingPair(pages: 4096, counted: 10_000);

        using var link = new LoopbackMigration();
        var receive = LoopbackMigration.ReceiveAsync(target, link.TargetLink, TestContext.Current.CancellationToken);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(700));
        // 2 MiB/s: the 16 MiB the guest writes take seconds, the cancellation comes first.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new MigrationSender(source, new RateLimitedStream(link.SourceLink, 2 << 20)).RunAsync(cancel.Token));
        var refused = await Assert.ThrowsAsync<MigrationException>(() => receive);

        Assert.Contains("cancelled", refused.Message);
        Assert.Equal(VmState.Running, source.State);
        Assert.Equal(VmState.Created, target.State);
        uint now = Counter(source);
        WaitFor(() => Counter(source) > now + 10_000, "the guest to go on counting on the source");
        Assert.Equal(0, source.ThrottlePercent);
    }

    [Fact]
    public async Task ATargetThatDiesMidwayLeavesTheVmRunningOnTheSource()
    {
        var (source, target) = CountingPair(pages: 4096, counted: 10_000);

        using var link = new LoopbackMigration();
        var receive = LoopbackMigration.ReceiveAsync(target, link.TargetLink, TestContext.Current.CancellationToken);
        var send = new MigrationSender(source, new RateLimitedStream(link.SourceLink, 2 << 20)).RunAsync(TestContext.Current.CancellationToken);
        await Task.Delay(500, TestContext.Current.CancellationToken);
        link.KillTarget();

        var failed = await Assert.ThrowsAsync<MigrationException>(() => send);
        Assert.False(failed.HandedOver);
        Assert.Contains("the VM runs on here", failed.Message);
        await Assert.ThrowsAnyAsync<Exception>(() => receive);
        Assert.Equal(VmState.Running, source.State);
        uint now = Counter(source);
        WaitFor(() => Counter(source) > now + 10_000, "the guest to go on counting on the source");
    }

    [Fact]
    public async Task ASourceThatDiesInStopAndCopyNeverLetsTheTargetRunTheVm()
    {
        var (source, target) = CountingPair(pages: 1024, counted: 10_000);

        using var link = new LoopbackMigration();
        var receive = LoopbackMigration.ReceiveAsync(target, link.TargetLink, TestContext.Current.CancellationToken);
        // The source "dies" with its whole state sent and the target restoring it: Go never comes.
        var watched = new FrameWatchingStream(link.SourceLink, MigrationMessage.State, link.KillSource);
        var failed = await Assert.ThrowsAsync<MigrationException>(() => new MigrationSender(source, watched).RunAsync(TestContext.Current.CancellationToken));
        Assert.False(failed.HandedOver);

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => receive);
        Assert.Equal(VmState.Created, target.State);                 // never started: it would have been the VM's second place
        uint frozen = Counter(target);
        await Task.Delay(200, TestContext.Current.CancellationToken);
        Assert.Equal(frozen, Counter(target));
        // Here the source process lives on, so the VM runs on there, and only there.
        Assert.Equal(VmState.Running, source.State);
        uint now = Counter(source);
        WaitFor(() => Counter(source) > now + 10_000, "the guest to go on counting on the source");
        TestContext.Current.TestOutputHelper?.WriteLine($"source: {failed.Message}; target: {refused.Message}");
    }

    [Fact]
    public async Task AfterGoTheSourceNeverResumesEvenIfTheTargetIsLostBeforeItConfirms()
    {
        var (source, target) = CountingPair(pages: 1024, counted: 10_000);

        using var link = new LoopbackMigration();
        // The target starts the VM on Go and is lost as it would say Running: the source cannot know whether it runs there.
        var targetLink = new FrameWatchingStream(link.TargetLink, MigrationMessage.Running, link.KillTarget, beforeSending: true);
        var receive = LoopbackMigration.ReceiveAsync(target, targetLink, TestContext.Current.CancellationToken);
        Exception? resumeAtGo = null;
        var sourceLink = new FrameWatchingStream(link.SourceLink, MigrationMessage.Go, () =>
        {
            resumeAtGo = Record.Exception(source.Resume);
            source.Stop(StopReason.HostRequest, "the pod is being deleted");      // a stop now still ends it as migrated
        }, beforeSending: true);

        var failed = await Assert.ThrowsAsync<MigrationException>(() => new MigrationSender(source, sourceLink).RunAsync(TestContext.Current.CancellationToken));
        Assert.True(failed.HandedOver);
        Assert.Contains("handed over to a migration target", Assert.IsType<InvalidOperationException>(resumeAtGo).Message);
        Assert.Equal(StopReason.Migrated, (await source.Stopped).Reason);
        Assert.Equal(VmState.Stopped, source.State);
        await Assert.ThrowsAnyAsync<Exception>(() => receive);
        // It runs in one place: the target, which started it before it was lost.
        Assert.Equal(VmState.Running, target.State);
        uint now = Counter(target);
        WaitFor(() => Counter(target) > now + 10_000, "the guest to go on counting on the target");
        uint frozen = Counter(source);
        await Task.Delay(200, TestContext.Current.CancellationToken);
        Assert.Equal(frozen, Counter(source));
    }

    [Fact]
    public async Task AVmStoppedOnTheSourceDuringStopAndCopyIsNotHandedOver()
    {
        var (source, target) = CountingPair(pages: 1024, counted: 10_000);

        using var link = new LoopbackMigration();
        var receive = LoopbackMigration.ReceiveAsync(target, link.TargetLink, TestContext.Current.CancellationToken);
        var watched = new FrameWatchingStream(link.SourceLink, MigrationMessage.State, () => source.Stop(StopReason.HostRequest, "the pod is being deleted"));
        var failed = await Assert.ThrowsAsync<MigrationException>(() => new MigrationSender(source, watched).RunAsync(TestContext.Current.CancellationToken));
        Assert.False(failed.HandedOver);
        Assert.Contains("stopped on the source during stop-and-copy", failed.Message);
        Assert.Equal(StopReason.HostRequest, (await source.Stopped).Reason);
        Assert.Contains("stopped on the source", (await Assert.ThrowsAnyAsync<Exception>(() => receive)).Message);
        Assert.Equal(VmState.Created, target.State);
    }

    [Fact]
    public async Task ATargetWhoseSourceFallsSilentGivesUpWithoutRunningTheVm()
    {
        var (source, target) = CountingPair(pages: 1024, counted: 10_000);

        using var link = new LoopbackMigration();
        var options = new MigrationOptions { LinkIdleTimeout = TimeSpan.FromSeconds(1) };
        var receive = LoopbackMigration.ReceiveAsync(target, link.TargetLink, TestContext.Current.CancellationToken, options);
        // The source's node vanishes 1 MiB into the full pass: no FIN, no RST, nothing more on the wire.
        using var stopSending = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var send = new MigrationSender(source, new StallingStream(link.SourceLink, 1 << 20)).RunAsync(stopSending.Token);

        var clock = Stopwatch.StartNew();
        var silent = await Assert.ThrowsAsync<MigrationException>(() => receive);
        Assert.Contains("the source sent nothing for 1 s", silent.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the target gave up after {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(VmState.Created, target.State);

        // Here the source lives on: cancelled, it stops waiting for the link and the VM runs on there.
        await stopSending.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => send);
        Assert.Equal(VmState.Running, source.State);
        uint now = Counter(source);
        WaitFor(() => Counter(source) > now + 10_000, "the guest to go on counting on the source");
    }

    [Fact]
    public async Task TheTargetRefusesAMachineThatDiffers()
    {
        string kernel = CounterKernel(pages: 16);
        var source = StartSource(Config(kernel, memoryMiB: 64));
        var target = Incoming(Config(kernel, memoryMiB: 128));

        using var link = new LoopbackMigration();
        var receive = LoopbackMigration.ReceiveAsync(target, link.TargetLink, TestContext.Current.CancellationToken);
        var refused = await Assert.ThrowsAsync<MigrationException>(() => new MigrationSender(source, link.SourceLink).RunAsync(TestContext.Current.CancellationToken));
        Assert.Contains("the source VM has 64 MiB of memory, the target 128 MiB", refused.Message);
        Assert.Contains("64 MiB", (await Assert.ThrowsAsync<MigrationException>(() => receive)).Message);
        Assert.Equal(VmState.Running, source.State);
    }

    [Fact]
    public async Task AGuestDirtyingFasterThanTheLinkIsThrottledUntilItConverges()
    {
        // 2048 pages (8 MiB) rewritten in a loop (all of them every few milliseconds) over a 16 MiB/s link:
        // without throttling, every round finds them all dirty again.
        var (source, target) = CountingPair(pages: 2048, counted: 100_000);
        var rounds = new List<MigrationProgress>();

        using var link = new LoopbackMigration();
        var receive = LoopbackMigration.ReceiveAsync(target, link.TargetLink, TestContext.Current.CancellationToken);
        var options = new MigrationOptions { ProgressTimeout = TimeSpan.FromSeconds(60), MaxDowntime = TimeSpan.FromMilliseconds(100) };
        var clock = Stopwatch.StartNew();
        var differences = new List<string>();
        var checking = CheckingRamAtHandover(new RateLimitedStream(link.SourceLink, 16 << 20), source, target, differences);
        var result = await new MigrationSender(source, checking, options, new InlineProgress<MigrationProgress>(rounds.Add))
            .RunAsync(TestContext.Current.CancellationToken);
        await receive;
        Assert.True(differences.Count == 0, $"guest RAM differs at the handover: {string.Join("; ", differences)}");

        TestContext.Current.TestOutputHelper?.WriteLine($"{result}\n{string.Join("\n", rounds)}");
        Assert.True(result.MaxThrottlePercent > 0, $"converged without throttling? rounds: {string.Join("; ", rounds)}");
        Assert.Equal(StopReason.Migrated, (await source.Stopped).Reason);
        uint final = Counter(source);
        WaitFor(() => Counter(target) > final + 10_000, "the guest to go on counting on the target");
        Assert.Equal(0, target.ThrottlePercent);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(120), $"took {clock.Elapsed}");
    }
}
