using Podvisor.Kvm.Abi;
using Podvisor.Kvm.Interop;
using Tmds.Linux;

namespace Podvisor.Kvm;

/// <summary>
/// A vCPU fd and its mmapped kvm_run page. <see cref="Run"/> is meant for one dedicated OS thread at a
/// time; every other member may be called from any thread while the vCPU is not running (KVM serialises
/// vCPU ioctls). <see cref="Kick"/> is safe from any thread at any time.
/// </summary>
public sealed unsafe class Vcpu : IDisposable
{
    [ThreadStatic] private static int t_tid;

    private readonly int _mmapSize;
    private byte* _run;
    private volatile int _runningTid;     // tid of the thread inside Run, or 0
    private int _preparedTid;             // thread whose signal mask was set up for kicks

    internal Vcpu(Vm vm, uint id, KvmFileDescriptor fd)
    {
        Vm = vm;
        Id = id;
        Handle = fd;
        _mmapSize = vm.VcpuMmapSize;
        // SAFETY: maps the vCPU's kvm_run area, shared with the kernel; unmapped once in Dispose.
        void* p = LibC.mmap(null, (size_t)_mmapSize, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd.Fd, 0);
        if (p == (void*)-1)
        {
            int errno = LibC.errno;
            fd.Dispose();
            throw new KvmException("mmap(kvm_run)", errno);
        }
        _run = (byte*)p;
    }

    public Vm Vm { get; }

    public uint Id { get; }

    public KvmFileDescriptor Handle { get; }

    private Span<byte> RunPage
    {
        get
        {
            ObjectDisposedException.ThrowIf(_run == null, this);
            // SAFETY: _run maps _mmapSize bytes until Dispose sets it to null.
            return new Span<byte>(_run, _mmapSize);
        }
    }

    /// <summary>kvm_run.immediate_exit: when set, KVM_RUN returns at once with <see cref="VcpuExitReason.Intr"/>.</summary>
    public bool ImmediateExit
    {
        get => Volatile.Read(ref RunPage[1]) != 0;
        set => Volatile.Write(ref RunPage[1], value ? (byte)1 : (byte)0);
    }

    /// <summary>kvm_run.request_interrupt_window: exit as soon as the guest can take an interrupt.</summary>
    public bool RequestInterruptWindow
    {
        get => RunPage[0] != 0;
        set => RunPage[0] = value ? (byte)1 : (byte)0;
    }

    /// <summary>kvm_run.if_flag after the last exit (guest RFLAGS.IF).</summary>
    public bool InterruptFlag => RunPage[13] != 0;

    /// <summary>
    /// KVM_RUN. Returns a view of the exit. A kick (or any signal) shows as <see cref="VcpuExitReason.Intr"/>;
    /// immediate_exit is cleared again then, so the caller's loop decides what to do next.
    /// </summary>
    public VcpuExit Run()
    {
        Span<byte> run = RunPage;
        int tid = t_tid != 0 ? t_tid : (t_tid = Native.GetTid());
        if (_preparedTid != tid) PrepareThreadForKicks(tid);

        _runningTid = tid;
        try
        {
            Native.IoctlAllowInterrupt(Handle, KvmIoctls.Run, out bool interrupted);
            if (interrupted)
            {
                KickSignal.Drain();
                ImmediateExit = false;
                return new VcpuExit(run, VcpuExitReason.Intr);
            }
        }
        finally
        {
            _runningTid = 0;
        }
        var reason = (VcpuExitReason)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(run[VcpuExit.ExitReasonOffset..]);
        return new VcpuExit(run, reason);
    }

    private void PrepareThreadForKicks(int tid)
    {
        ulong runMask = KickSignal.BlockOnCurrentThread();
        var buffer = stackalloc byte[4 + 8];
        *(uint*)buffer = 8;               // struct kvm_signal_mask { __u32 len; __u8 sigset[]; }
        *(ulong*)(buffer + 4) = runMask;
        // SAFETY: header plus the 8-byte kernel sigset that len announces.
        Native.Ioctl(Handle, KvmIoctls.SetSignalMask, buffer);
        _preparedTid = tid;
    }

    /// <summary>
    /// Makes the current (or the next) <see cref="Run"/> return promptly with <see cref="VcpuExitReason.Intr"/>:
    /// sets immediate_exit, then signals the thread if it is inside KVM_RUN.
    /// </summary>
    public void Kick()
    {
        ImmediateExit = true;
        int tid = _runningTid;
        if (tid != 0)
        {
            try
            {
                KickSignal.Send(tid);
            }
            catch (KvmException e) when (e.Errno == 3 /* ESRCH: the thread already left */)
            {
            }
        }
    }

    public KvmRegs GetRegs() => Get<KvmRegs>(KvmIoctls.GetRegs);
    public void SetRegs(in KvmRegs regs) => Set(KvmIoctls.SetRegs, regs);
    public KvmSregs GetSregs() => Get<KvmSregs>(KvmIoctls.GetSregs);
    public void SetSregs(in KvmSregs sregs) => Set(KvmIoctls.SetSregs, sregs);
    public KvmFpu GetFpu() => Get<KvmFpu>(KvmIoctls.GetFpu);
    public void SetFpu(in KvmFpu fpu) => Set(KvmIoctls.SetFpu, fpu);
    public KvmXcrs GetXcrs() => Get<KvmXcrs>(KvmIoctls.GetXcrs);
    public void SetXcrs(in KvmXcrs xcrs) => Set(KvmIoctls.SetXcrs, xcrs);
    public KvmLapicState GetLapic() => Get<KvmLapicState>(KvmIoctls.GetLapic);
    public void SetLapic(in KvmLapicState lapic) => Set(KvmIoctls.SetLapic, lapic);
    public KvmVcpuEvents GetVcpuEvents() => Get<KvmVcpuEvents>(KvmIoctls.GetVcpuEvents);
    public void SetVcpuEvents(in KvmVcpuEvents events) => Set(KvmIoctls.SetVcpuEvents, events);
    public KvmDebugRegs GetDebugRegs() => Get<KvmDebugRegs>(KvmIoctls.GetDebugRegs);
    public void SetDebugRegs(in KvmDebugRegs regs) => Set(KvmIoctls.SetDebugRegs, regs);
    public KvmMpState GetMpState() => (KvmMpState)Get<uint>(KvmIoctls.GetMpState);
    public void SetMpState(KvmMpState state) => Set(KvmIoctls.SetMpState, (uint)state);

    /// <summary>KVM_GET_XSAVE2 (or KVM_GET_XSAVE where the kernel lacks it), sized for this VM.</summary>
    public Xsave GetXsave()
    {
        var xsave = new Xsave(Vm.XsaveSize);
        fixed (byte* p = xsave.Region)
        {
            // SAFETY: the region is XsaveSize bytes, the size KVM_CAP_XSAVE2 reported (or 4096 for GET_XSAVE).
            Native.Ioctl(Handle, Vm.UseXsave2 ? KvmIoctls.GetXsave2 : KvmIoctls.GetXsave, p);
        }
        return xsave;
    }

    public void SetXsave(Xsave xsave)
    {
        if (xsave.Region.Length < Vm.XsaveSize)
            throw new ArgumentException($"XSAVE area of {xsave.Region.Length} bytes; this VM needs {Vm.XsaveSize}", nameof(xsave));
        fixed (byte* p = xsave.Region)
        {
            // SAFETY: the region is at least as large as the kernel reads for this VM.
            Native.Ioctl(Handle, KvmIoctls.SetXsave, p);
        }
    }

    /// <summary>KVM_GET_MSRS for the given indices. Throws naming the first MSR the kernel refused.</summary>
    public KvmMsrEntry[] GetMsrs(params ReadOnlySpan<uint> indices)
    {
        var entries = EntriesFor(indices);
        int done = MsrIoctl(KvmIoctls.GetMsrs, entries);
        if (done != entries.Length)
            throw new KvmException("KVM_GET_MSRS", Errnos.EINVAL, $"MSR 0x{entries[done].Index:x} cannot be read ({done} of {entries.Length} read)");
        return entries;
    }

    /// <summary>
    /// The subset of <paramref name="candidates"/> KVM_GET_MSRS can read on this vCPU (KVM's index list names
    /// MSRs of features the guest's CPUID may not have; reading those fails).
    /// </summary>
    public uint[] ReadableMsrs(ReadOnlySpan<uint> candidates)
    {
        var readable = new List<uint>(candidates.Length);
        var rest = candidates.ToArray().AsSpan();
        while (rest.Length > 0)
        {
            int done = MsrIoctl(KvmIoctls.GetMsrs, EntriesFor(rest));
            for (int i = 0; i < done; i++) readable.Add(rest[i]);
            rest = rest[Math.Min(rest.Length, done + 1)..];   // skip the one refused
        }
        return [.. readable];
    }

    /// <summary>Entries asking for these MSRs (KVM_GET_MSRS fills in their values).</summary>
    private static KvmMsrEntry[] EntriesFor(ReadOnlySpan<uint> indices)
    {
        var entries = new KvmMsrEntry[indices.Length];
        for (int i = 0; i < indices.Length; i++) entries[i] = new KvmMsrEntry(indices[i]);
        return entries;
    }

    /// <summary>KVM_SET_MSRS. Throws naming the first MSR the kernel refused.</summary>
    public void SetMsrs(params ReadOnlySpan<KvmMsrEntry> entries)
    {
        var copy = entries.ToArray();
        int done = MsrIoctl(KvmIoctls.SetMsrs, copy);
        if (done != copy.Length)
            throw new KvmException("KVM_SET_MSRS", Errnos.EINVAL, $"MSR 0x{copy[done].Index:x} = 0x{copy[done].Data:x} was refused ({done} of {copy.Length} written)");
    }

    private int MsrIoctl(uint request, KvmMsrEntry[] entries)
    {
        const int header = 8; // struct kvm_msrs { __u32 nmsrs; __u32 pad; entries[] }
        var buffer = new byte[header + entries.Length * sizeof(KvmMsrEntry)];
        fixed (byte* p = buffer)
        {
            *(uint*)p = (uint)entries.Length;
            var body = new Span<KvmMsrEntry>(p + header, entries.Length);
            entries.CopyTo(body);
            // SAFETY: header plus exactly nmsrs entries.
            int done = Native.Ioctl(Handle, request, p);
            body.CopyTo(entries);
            return done;
        }
    }

    public void SetCpuid(ReadOnlySpan<KvmCpuidEntry2> entries) => CpuidBuffer.Set(Handle, KvmIoctls.SetCpuid2, entries);

    public KvmCpuidEntry2[] GetCpuid() => CpuidBuffer.QueryVcpu(Handle, KvmIoctls.GetCpuid2);

    /// <summary>KVM_GET_TSC_KHZ: the guest TSC frequency.</summary>
    public int GetTscKhz() => Native.Ioctl(Handle, KvmIoctls.GetTscKhz, 0);

    public void SetTscKhz(uint khz) => Native.Ioctl(Handle, KvmIoctls.SetTscKhz, khz);

    /// <summary>KVM_KVMCLOCK_CTRL: tells the guest it was paused, so its soft-lockup watchdog stays quiet.</summary>
    public void NotifyPaused() => Native.Ioctl(Handle, KvmIoctls.KvmclockCtrl, 0);

    private T Get<T>(uint request) where T : unmanaged => Native.Get<T>(Handle, request);

    private void Set<T>(uint request, in T value) where T : unmanaged => Native.Set(Handle, request, value);

    public void Dispose()
    {
        if (_run != null)
        {
            // SAFETY: unmaps the kvm_run area mapped in the constructor, once.
            LibC.munmap(_run, (size_t)_mmapSize);
            _run = null;
        }
        Handle.Dispose();
    }
}
