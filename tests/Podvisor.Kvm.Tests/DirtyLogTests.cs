using Iced.Intel;
using Podvisor.Kvm.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Podvisor.Kvm.Tests;

/// <summary>KVM's dirty log reports every page the guest wrote and no page it did not touch.</summary>
[Trait("Category", "Kvm")]
public sealed class DirtyLogTests
{
    // Pages the guest writes in round one and round two (page numbers; 4 KiB pages).
    private static readonly ulong[] RoundOne = [0x10, 0x11, 0x23, 0x40, 0x7f];
    private static readonly ulong[] RoundTwo = [0x24, 0x50];

    // Pages the guest touches without writing: its page tables (the page walker sets accessed/dirty
    // bits in them) and its code page (kvm_amd nested under QEMU TCG reports the fetched code page dirty;
    // kvm_pvm does not). Anything else in the log was never touched and fails the test.
    private static readonly ulong[] TouchedPages =
        [TestGuest.CodeAddress / 4096, TestGuest.Pml4Address / 4096, TestGuest.PdptAddress / 4096, TestGuest.PdAddress / 4096];

    private static void WritePages(Assembler a, ulong[] pages, byte donePort)
    {
        foreach (ulong page in pages)
        {
            a.mov(__dword_ptr[(long)(page * 4096 + 0x10)], (int)page);
        }
        a.@out(donePort, al);
    }

    private static TestGuest StartGuest(bool manualProtect, bool initiallySet = false) => new(GuestMode.Long, a =>
    {
        WritePages(a, RoundOne, 0x10);
        WritePages(a, RoundTwo, 0x11);
        a.hlt();
    }, slotFlags: MemorySlotFlags.LogDirtyPages, beforeVcpu: vm =>
    {
        if (manualProtect) vm.EnableManualDirtyLogProtection(initiallySet);
    });

    private static void AssertDirtyExactly(DirtyBitmap log, ulong[] written)
    {
        var dirty = log.DirtyPages().ToHashSet();
        foreach (ulong page in written) Assert.True(dirty.Contains(page), $"page 0x{page:x} was written but is not in the dirty log");
        var unexpected = dirty.Except(written).Except(TouchedPages).ToList();
        Assert.True(unexpected.Count == 0, $"pages never written are in the dirty log: {string.Join(", ", unexpected.Select(p => $"0x{p:x}"))}");
    }

    private static void RunToPort(TestGuest guest, byte port) => Assert.StartsWith($"out {port:x} ", guest.NextExit());

    [Fact]
    public void GetDirtyLogReportsWrittenPagesAndClearsThem()
    {
        using var guest = StartGuest(manualProtect: false);
        guest.Vm.GetDirtyLog(0); // drop the pages the host itself wrote while setting up

        RunToPort(guest, 0x10);
        AssertDirtyExactly(guest.Vm.GetDirtyLog(0), RoundOne);

        RunToPort(guest, 0x11);
        var second = guest.Vm.GetDirtyLog(0);
        AssertDirtyExactly(second, RoundTwo);
        Assert.DoesNotContain(RoundOne[0], second.DirtyPages());

        Assert.Equal(0x50u, guest.Memory.ReadValue<uint>(0x50 * 4096 + 0x10));
    }

    [Fact]
    public void ManualProtectKeepsPagesUntilCleared()
    {
        using var guest = StartGuest(manualProtect: true);
        var initial = guest.Vm.GetDirtyLog(0);
        guest.Vm.ClearDirtyLog(0, initial);

        RunToPort(guest, 0x10);
        var first = guest.Vm.GetDirtyLog(0);
        AssertDirtyExactly(first, RoundOne);

        // Not cleared yet: a second read still reports round one.
        var again = guest.Vm.GetDirtyLog(0);
        Assert.Equal(first.Words, again.Words);

        guest.Vm.ClearDirtyLog(0, again);
        RunToPort(guest, 0x11);
        AssertDirtyExactly(guest.Vm.GetDirtyLog(0), RoundTwo);
    }

    [Fact]
    public void InitiallySetLogReportsEveryPageAndProtectsOnlyWhatIsCleared()
    {
        using var guest = StartGuest(manualProtect: true, initiallySet: true);
        Assert.True(guest.Vm.SupportsInitiallySetDirtyLog);
        var initial = guest.Vm.GetDirtyLog(0);
        Assert.Equal(initial.PageCount, initial.CountDirty());

        // Only the first word's 64 pages are cleared (protected again); the rest stay dirty, unprotected.
        guest.Vm.ClearDirtyLog(0, firstPage: 0, pageCount: 64, initial.Words.AsSpan(0, 1));
        RunToPort(guest, 0x10);
        var log = guest.Vm.GetDirtyLog(0);

        var cleared = log.DirtyPages().Where(p => p < 64).ToHashSet();
        foreach (ulong page in RoundOne.Where(p => p < 64)) Assert.True(cleared.Contains(page), $"page 0x{page:x} was written after its clear but is not in the log");
        var unexpected = cleared.Except(RoundOne).Except(TouchedPages).ToList();
        Assert.True(unexpected.Count == 0, $"cleared pages never written are in the log: {string.Join(", ", unexpected.Select(p => $"0x{p:x}"))}");
        Assert.Equal(log.PageCount - 64, (ulong)log.DirtyPages().Count(p => p >= 64));
    }

    [Fact]
    public void AClearThatEndsInsideAWordBeforeTheSlotEndIsRefused()
    {
        using var guest = StartGuest(manualProtect: true, initiallySet: true);
        var initial = guest.Vm.GetDirtyLog(0);
        Assert.Throws<ArgumentOutOfRangeException>(() => guest.Vm.ClearDirtyLog(0, firstPage: 64, pageCount: 10, initial.Words.AsSpan(1, 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => guest.Vm.ClearDirtyLog(0, firstPage: 32, pageCount: 64, initial.Words.AsSpan(0, 2)));
        Assert.Throws<ArgumentException>(() => guest.Vm.ClearDirtyLog(0, firstPage: 0, pageCount: 128, initial.Words.AsSpan(0, 1)));
    }

    [Fact]
    public void DirtyLogOfASlotWithoutLoggingIsRefused()
    {
        using var guest = new TestGuest(GuestMode.Real, a => a.hlt());
        var e = Assert.Throws<KvmException>(() => guest.Vm.GetDirtyLog(0));
        Assert.Equal("KVM_GET_DIRTY_LOG", e.Operation);
        Assert.Equal(Errnos.ENOENT, e.Errno);
    }
}
