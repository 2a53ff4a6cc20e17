using Podvisor.Kvm;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Machine;

/// <summary>
/// Which guest RAM pages changed since they were last copied: KVM's dirty log of the guest's writes ORed with the
/// VMM's own (loader, devices). Pages are numbered as pages of <see cref="GuestRam.Host"/>.
/// <para>
/// Where KVM offers it (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 with KVM_DIRTY_LOG_INITIALLY_SET, as QEMU uses it), turning
/// logging on write-protects nothing, and a page is protected again only in <see cref="Rearm"/>, just before it is
/// copied. Otherwise every GET_DIRTY_LOG re-protects all of RAM at once, and each page the guest writes faults
/// before it is copied, once for the full pass and again each round: costly where faults are slow (nested
/// virtualisation), and wasted on a page the guest rewrites before the copy reaches it.
/// </para>
/// </summary>
internal sealed class DirtyPageLog
{
    /// <summary>Pages re-protected per KVM_CLEAR_DIRTY_LOG: 4 MiB, a few milliseconds of copying.</summary>
    internal const ulong ChunkPages = 1024;

    private readonly Vm _vm;
    private readonly GuestRam _ram;
    private bool _on, _nextIsFirst;

    public DirtyPageLog(Vm vm, GuestRam ram)
    {
        _vm = vm;
        _ram = ram;
        // CLEAR_DIRTY_LOG takes 64-page words of a slot: the slots must start on such words of RAM for the
        // collected bitmap's words to be handed to it as they are. (They do: 0 and the 3.25 GiB MMIO window.)
        bool aligned = _vm.MemorySlots.All(s => s.MemoryOffset / GuestRam.PageSize % 64 == 0);
        if (aligned && _vm.SupportsInitiallySetDirtyLog)
        {
            _vm.EnableManualDirtyLogProtection(initiallySet: true);
            ManualProtection = true;
        }
    }

    /// <summary>Whether pages are re-protected one chunk at a time just before they are copied.</summary>
    public bool ManualProtection { get; }

    /// <summary>Turns logging on. The first <see cref="Collect"/> then returns every page (the full pass).</summary>
    public void Start()
    {
        SetLogging(true);
        _on = true;
        _nextIsFirst = true;
    }

    public void Stop()
    {
        SetLogging(false);
        _on = false;
    }

    /// <summary>
    /// The pages changed since they were last re-armed (the first time: all of them). Their contents must be read
    /// only after <see cref="Rearm"/> for them, or a write in between could be lost.
    /// </summary>
    public DirtyBitmap Collect()
    {
        if (!_on) throw new InvalidOperationException("dirty logging is off");
        var dirty = _ram.TakeVmmDirty();
        foreach (var slot in _vm.MemorySlots)
        {
            if ((slot.Flags & MemorySlotFlags.LogDirtyPages) == 0) continue;
            // Without manual protection this also re-protects the slot, so the first call forgets what the guest
            // wrote before logging was on: the full pass below copies it.
            var log = _vm.GetDirtyLog(slot.Slot);
            if (_nextIsFirst) continue;
            ulong first = slot.MemoryOffset / GuestRam.PageSize;
            foreach (ulong page in log.DirtyPages()) dirty.MarkDirty(first + page);
        }
        if (_nextIsFirst)
        {
            _nextIsFirst = false;
            dirty.MarkAllDirty();
        }
        return dirty;
    }

    /// <summary>
    /// The pages of <paramref name="collected"/> in ascending order, each chunk re-protected just before its first
    /// page is returned, so what the guest writes from then on shows in the next <see cref="Collect"/>.
    /// With <paramref name="knownZero"/>, the chunk's pages the host has never backed with memory (never written, or
    /// discarded by the balloon: they read as zeros) are marked there before they are returned, so the caller can
    /// send them as zeros without reading them. That is decided after the chunk's re-protection too, so a page the
    /// guest writes later still shows in the next <see cref="Collect"/>. Reading them instead cost the full pass a
    /// scan of all untouched RAM (1.4 s of an idle 1 GiB guest's migration inside the emulated host), and a round after
    /// free page reporting a fault per discarded page; and it maps them on the source.
    /// </summary>
    public IEnumerable<ulong> Rearm(DirtyBitmap collected, DirtyBitmap? knownZero = null)
    {
        var backed = new ulong[ChunkPages / 64];
        foreach (var slot in _vm.MemorySlots.OrderBy(s => s.MemoryOffset).ToArray())
        {
            ulong slotFirst = slot.MemoryOffset / GuestRam.PageSize;
            for (ulong chunk = 0; chunk < slot.PageCount; chunk += ChunkPages)
            {
                ulong count = Math.Min(ChunkPages, slot.PageCount - chunk);
                int firstWord = (int)((slotFirst + chunk) / 64), words = (int)((count + 63) / 64);
                var bits = collected.Words.AsSpan(firstWord, words);
                if (!bits.ContainsAnyExcept(0UL)) continue;
                if (ManualProtection && (slot.Flags & MemorySlotFlags.LogDirtyPages) != 0) _vm.ClearDirtyLog(slot.Slot, chunk, count, bits);
                if (knownZero is not null) MarkUnbacked(slotFirst + chunk, count, knownZero, backed);
                foreach (ulong page in collected.DirtyPages(firstWord, words)) yield return page;
            }
        }
    }

    /// <summary>
    /// Marks in <paramref name="knownZero"/> the pages of <paramref name="pages"/> the host has not backed with memory
    /// (see <see cref="Rearm"/>); for pages read while the vCPUs are paused, when nothing re-protects them.
    /// </summary>
    public void FindKnownZero(DirtyBitmap pages, DirtyBitmap knownZero)
    {
        var backed = new ulong[ChunkPages / 64];
        for (ulong first = 0; first < pages.PageCount; first += ChunkPages)
        {
            ulong count = Math.Min(ChunkPages, pages.PageCount - first);
            if (!pages.Words.AsSpan((int)(first / 64), (int)((count + 63) / 64)).ContainsAnyExcept(0UL)) continue;
            MarkUnbacked(first, count, knownZero, backed);
        }
    }

    private void MarkUnbacked(ulong first, ulong count, DirtyBitmap knownZero, ulong[] backed)
    {
        if (!_ram.Host.TryFindBackedPages(first, (int)count, backed)) return;
        for (ulong i = 0; i < count; i++)
            if ((backed[i / 64] >> (int)(i % 64) & 1) == 0) knownZero.MarkDirty(first + i);
    }

    private void SetLogging(bool on)
    {
        foreach (var slot in _vm.MemorySlots)
        {
            var flags = on ? slot.Flags | MemorySlotFlags.LogDirtyPages : slot.Flags & ~MemorySlotFlags.LogDirtyPages;
            if (flags != slot.Flags) _vm.SetMemorySlot(slot with { Flags = flags });
        }
    }
}
