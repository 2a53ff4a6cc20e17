using Podvisor.Kvm.Abi;
using Podvisor.Kvm.Interop;

namespace Podvisor.Kvm;

/// <summary>A VM fd: memory slots and dirty logging, the in-kernel irqchip and PIT, interrupt routing,
/// irqfd/ioeventfd, kvmclock, and vCPU creation.</summary>
public sealed unsafe class Vm : IDisposable
{
    private readonly Dictionary<uint, MemorySlot> _slots = [];
    private readonly Lock _slotsLock = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<KvmCapability, int> _extensions = new();

    internal Vm(Kvm kvm, KvmFileDescriptor fd)
    {
        Kvm = kvm;
        Handle = fd;
        VcpuMmapSize = kvm.VcpuMmapSize;
        int xsave2 = CheckExtension(KvmCapability.Xsave2);
        XsaveSize = Math.Max(Xsave.LegacySize, xsave2);
        UseXsave2 = xsave2 > 0;
    }

    public Kvm Kvm { get; }

    public KvmFileDescriptor Handle { get; }

    internal int VcpuMmapSize { get; }

    /// <summary>Bytes a vCPU's XSAVE area needs (4096 unless KVM_CAP_XSAVE2 says more).</summary>
    public int XsaveSize { get; }

    internal bool UseXsave2 { get; }

    /// <summary>
    /// KVM_CHECK_EXTENSION on the VM fd (some answers, like XSAVE2's size, are per VM), asked once per capability: the
    /// answers hold for the VM's life, and a migration's downtime asks several (an ioctl costs ~1 ms in a nested host).
    /// </summary>
    public int CheckExtension(KvmCapability capability) =>
        _extensions.GetOrAdd(capability, c => Native.Ioctl(Handle, KvmIoctls.CheckExtension, (ulong)c));

    /// <summary>KVM_ENABLE_CAP on the VM.</summary>
    public void EnableCapability(KvmCapability capability, params ReadOnlySpan<ulong> args)
    {
        if (args.Length > 4) throw new ArgumentException("KVM_ENABLE_CAP takes at most 4 arguments", nameof(args));
        var cap = new KvmEnableCap { Cap = (uint)capability };
        for (int i = 0; i < args.Length; i++) cap.Args[i] = args[i];
        Native.Set(Handle, KvmIoctls.EnableCap, cap);
    }

    /// <summary>The slots currently installed, by slot number.</summary>
    public IReadOnlyCollection<MemorySlot> MemorySlots
    {
        get { lock (_slotsLock) return [.. _slots.Values]; }
    }

    /// <summary>
    /// KVM_SET_USER_MEMORY_REGION. The host range is checked against its mapping here (the kernel cannot
    /// know our mapping's bounds); guest-side rules (alignment, overlap) are the kernel's, and its refusal
    /// arrives as a <see cref="KvmException"/> (EINVAL, EEXIST).
    /// </summary>
    public void SetMemorySlot(MemorySlot slot)
    {
        if (slot.MemoryOffset > slot.Memory.Size || slot.Size > slot.Memory.Size - slot.MemoryOffset)
            throw new ArgumentOutOfRangeException(nameof(slot),
                $"slot {slot.Slot}: host range [0x{slot.MemoryOffset:x}, +0x{slot.Size:x}) lies outside its 0x{slot.Memory.Size:x}-byte mapping");
        var region = new KvmUserspaceMemoryRegion
        {
            Slot = slot.Slot,
            Flags = (uint)slot.Flags,
            GuestPhysAddr = slot.GuestAddress,
            MemorySize = slot.Size,
            UserspaceAddr = slot.Memory.HostAddress + slot.MemoryOffset,
        };
        lock (_slotsLock)
        {
            // SAFETY: pointer to a local struct; the host range was checked above to be inside a live mapping.
            Native.Ioctl(Handle, KvmIoctls.SetUserMemoryRegion, &region);
            if (slot.Size == 0) _slots.Remove(slot.Slot);
            else _slots[slot.Slot] = slot;
        }
    }

    /// <summary>Deletes a memory slot (KVM_SET_USER_MEMORY_REGION with size 0).</summary>
    public void RemoveMemorySlot(uint slotNumber)
    {
        MemorySlot slot;
        lock (_slotsLock)
        {
            if (!_slots.TryGetValue(slotNumber, out slot!))
                throw new ArgumentException($"memory slot {slotNumber} is not installed", nameof(slotNumber));
        }
        SetMemorySlot(slot with { Size = 0 });
    }

    private MemorySlot GetSlot(uint slotNumber)
    {
        lock (_slotsLock)
        {
            return _slots.TryGetValue(slotNumber, out var slot)
                ? slot
                : throw new ArgumentException($"memory slot {slotNumber} is not installed", nameof(slotNumber));
        }
    }

    /// <summary>
    /// KVM_GET_DIRTY_LOG: pages the guest wrote since the last call. Without manual protection
    /// (<see cref="EnableManualDirtyLogProtection"/>) the kernel also clears and re-protects them.
    /// </summary>
    public DirtyBitmap GetDirtyLog(uint slotNumber)
    {
        var slot = GetSlot(slotNumber);
        var bitmap = new DirtyBitmap(slot.PageCount);
        fixed (ulong* bits = bitmap.Words)
        {
            var log = new KvmDirtyLog { Slot = slotNumber, DirtyBitmap = (ulong)bits };
            // SAFETY: the bitmap holds one bit per page of the slot, rounded up to 64-bit words, as the kernel writes.
            Native.Ioctl(Handle, KvmIoctls.GetDirtyLog, &log);
        }
        return bitmap;
    }

    /// <summary>
    /// KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: GET_DIRTY_LOG stops clearing; use <see cref="ClearDirtyLog(uint, DirtyBitmap, ulong, ulong?)"/>.
    /// With <paramref name="initiallySet"/> (KVM_DIRTY_LOG_INITIALLY_SET, when <see cref="SupportsInitiallySetDirtyLog"/>)
    /// turning a slot's logging on marks all its pages dirty instead of write-protecting them all: a page is
    /// protected only when cleared, so a guest's writes to pages not yet copied cost no faults.
    /// </summary>
    public void EnableManualDirtyLogProtection(bool initiallySet = false) =>
        EnableCapability(KvmCapability.ManualDirtyLogProtect2, ManualProtectEnable | (initiallySet ? InitiallySet : 0));

    private const ulong ManualProtectEnable = 1, InitiallySet = 2;

    /// <summary>Whether KVM offers manual dirty-log protection with pages initially set.</summary>
    public bool SupportsInitiallySetDirtyLog =>
        ((ulong)CheckExtension(KvmCapability.ManualDirtyLogProtect2) & (ManualProtectEnable | InitiallySet)) == (ManualProtectEnable | InitiallySet);

    /// <summary>
    /// KVM_CLEAR_DIRTY_LOG: re-protects the pages set in <paramref name="bitmap"/> within
    /// [firstPage, firstPage+pageCount). firstPage must be a multiple of 64.
    /// </summary>
    public void ClearDirtyLog(uint slotNumber, DirtyBitmap bitmap, ulong firstPage = 0, ulong? pageCount = null)
    {
        var slot = GetSlot(slotNumber);
        if (bitmap.PageCount != slot.PageCount)
            throw new ArgumentException("the bitmap does not cover this slot", nameof(bitmap));
        if (firstPage % 64 != 0 || firstPage > slot.PageCount)
            throw new ArgumentOutOfRangeException(nameof(firstPage), "the range must start on a 64-page boundary and lie inside the slot");
        ulong count = pageCount ?? slot.PageCount - firstPage;
        ClearDirtyLog(slotNumber, firstPage, count, bitmap.Words.AsSpan((int)(firstPage / 64)));
    }

    /// <summary>
    /// KVM_CLEAR_DIRTY_LOG over [firstPage, firstPage+pageCount) of a slot, with <paramref name="bits"/>' bit 0 being
    /// firstPage: those pages' log bits are cleared and the pages write-protected again. firstPage must be a multiple
    /// of 64, and so must pageCount unless the range ends at the slot's end (the kernel's rule).
    /// </summary>
    public void ClearDirtyLog(uint slotNumber, ulong firstPage, ulong pageCount, ReadOnlySpan<ulong> bits)
    {
        var slot = GetSlot(slotNumber);
        if (firstPage % 64 != 0 || firstPage > slot.PageCount || pageCount > slot.PageCount - firstPage || pageCount > uint.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(firstPage), "the range must start on a 64-page boundary and lie inside the slot");
        if (pageCount % 64 != 0 && firstPage + pageCount != slot.PageCount)
            throw new ArgumentOutOfRangeException(nameof(pageCount), "a range that does not reach the slot's end must cover whole 64-page words");
        if ((ulong)bits.Length < (pageCount + 63) / 64)
            throw new ArgumentException("the bits do not cover the range", nameof(bits));
        fixed (ulong* words = bits)
        {
            var clear = new KvmClearDirtyLog
            {
                Slot = slotNumber,
                FirstPage = firstPage,
                NumPages = (uint)pageCount,
                DirtyBitmap = (ulong)words,
            };
            // SAFETY: the pointer covers pageCount bits (checked above); the kernel only reads them.
            Native.Ioctl(Handle, KvmIoctls.ClearDirtyLog, &clear);
        }
    }

    /// <summary>KVM_SET_TSS_ADDR: three pages of guest-physical space KVM uses for real-mode emulation on Intel.</summary>
    public void SetTssAddress(uint guestAddress) => Native.Ioctl(Handle, KvmIoctls.SetTssAddr, guestAddress);

    /// <summary>KVM_SET_IDENTITY_MAP_ADDR: one page for the EPT identity map on Intel.</summary>
    public void SetIdentityMapAddress(ulong guestAddress) => Native.Set(Handle, KvmIoctls.SetIdentityMapAddr, guestAddress);

    /// <summary>KVM_CREATE_IRQCHIP: in-kernel PIC pair, IOAPIC and per-vCPU local APICs.</summary>
    public void CreateIrqchip() => Native.Ioctl(Handle, KvmIoctls.CreateIrqchip, 0);

    public KvmIrqchip GetIrqchip(uint chipId)
    {
        var chip = new KvmIrqchip { ChipId = chipId };
        // SAFETY: pointer to a local struct of the request's size (chip_id in, state out).
        Native.Ioctl(Handle, KvmIoctls.GetIrqchip, &chip);
        return chip;
    }

    public void SetIrqchip(in KvmIrqchip chip) => Native.Set(Handle, KvmIoctls.SetIrqchip, chip);

    /// <summary>KVM_CREATE_PIT2: in-kernel 8254 timer.</summary>
    public void CreatePit2(uint flags = KvmPitConfig.FlagSpeakerDummy)
    {
        Native.Set(Handle, KvmIoctls.CreatePit2, new KvmPitConfig { Flags = flags });
    }

    public KvmPitState2 GetPit2() => Native.Get<KvmPitState2>(Handle, KvmIoctls.GetPit2);

    public void SetPit2(in KvmPitState2 state) => Native.Set(Handle, KvmIoctls.SetPit2, state);

    /// <summary>KVM_IRQ_LINE: drives a GSI's level (edge-triggered lines: raise then lower).</summary>
    public void SetIrqLine(uint gsi, bool level)
    {
        Native.Set(Handle, KvmIoctls.IrqLine, new KvmIrqLevel { Irq = gsi, Level = level ? 1u : 0u });
    }

    /// <summary>KVM_SET_GSI_ROUTING: replaces the whole GSI routing table.</summary>
    public void SetGsiRouting(ReadOnlySpan<KvmIrqRoutingEntry> entries)
    {
        const int header = 8;
        var buffer = new byte[header + entries.Length * sizeof(KvmIrqRoutingEntry)];
        fixed (byte* p = buffer)
        {
            *(uint*)p = (uint)entries.Length;
            entries.CopyTo(new Span<KvmIrqRoutingEntry>(p + header, entries.Length));
            // SAFETY: header plus exactly nr entries.
            Native.Ioctl(Handle, KvmIoctls.SetGsiRouting, p);
        }
    }

    /// <summary>KVM_IRQFD: a write to <paramref name="eventFd"/> raises <paramref name="gsi"/> in the guest.</summary>
    public void AddIrqfd(EventFd eventFd, uint gsi) => Irqfd(eventFd, gsi, 0);

    public void RemoveIrqfd(EventFd eventFd, uint gsi) => Irqfd(eventFd, gsi, KvmIrqfd.FlagDeassign);

    private void Irqfd(EventFd eventFd, uint gsi, uint flags)
    {
        Native.Set(Handle, KvmIoctls.Irqfd, new KvmIrqfd { Fd = (uint)eventFd.Handle.Fd, Gsi = gsi, Flags = flags });
    }

    /// <summary>
    /// KVM_IOEVENTFD: a guest write of <paramref name="length"/> bytes to <paramref name="address"/> (port I/O
    /// when <paramref name="pio"/>) signals <paramref name="eventFd"/> in the kernel instead of exiting.
    /// </summary>
    public void AddIoeventfd(EventFd eventFd, ulong address, uint length, bool pio = false, ulong? datamatch = null) =>
        Ioeventfd(eventFd, address, length, pio, datamatch, deassign: false);

    public void RemoveIoeventfd(EventFd eventFd, ulong address, uint length, bool pio = false, ulong? datamatch = null) =>
        Ioeventfd(eventFd, address, length, pio, datamatch, deassign: true);

    private void Ioeventfd(EventFd eventFd, ulong address, uint length, bool pio, ulong? datamatch, bool deassign)
    {
        var ioeventfd = new KvmIoeventfd
        {
            Addr = address,
            Len = length,
            Fd = eventFd.Handle.Fd,
            Datamatch = datamatch ?? 0,
            Flags = (pio ? KvmIoeventfd.FlagPio : 0) | (datamatch.HasValue ? KvmIoeventfd.FlagDatamatch : 0)
                | (deassign ? KvmIoeventfd.FlagDeassign : 0),
        };
        Native.Set(Handle, KvmIoctls.Ioeventfd, ioeventfd);
    }

    /// <summary>KVM_GET_CLOCK: the guest's kvmclock (ns) — saved on the migration source.</summary>
    public KvmClockData GetClock() => Native.Get<KvmClockData>(Handle, KvmIoctls.GetClock);

    /// <summary>KVM_SET_CLOCK — restored on the migration target.</summary>
    public void SetClock(in KvmClockData data) => Native.Set(Handle, KvmIoctls.SetClock, data);

    /// <summary>KVM_CREATE_VCPU with the given APIC id and maps its kvm_run page.</summary>
    public Vcpu CreateVcpu(uint id)
    {
        int fd = Native.Ioctl(Handle, KvmIoctls.CreateVcpu, id);
        return new Vcpu(this, id, new KvmFileDescriptor(fd));
    }

    public void Dispose() => Handle.Dispose();

}
