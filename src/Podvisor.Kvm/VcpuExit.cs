using System.Buffers.Binary;

namespace Podvisor.Kvm;

/// <summary>
/// A borrowed view of the vCPU's kvm_run page after KVM_RUN returned. Nothing is copied: the data spans
/// point into the shared page, and the VMM answers an IN or an MMIO read by writing into them before the
/// next <see cref="Vcpu.Run"/>. Valid only until then.
/// </summary>
public readonly ref struct VcpuExit
{
    // Offsets inside struct kvm_run (checked against the kernel header by the ABI test).
    internal const int ExitReasonOffset = 8, UnionOffset = 32;

    private readonly Span<byte> _run;

    internal VcpuExit(Span<byte> run, VcpuExitReason reason)
    {
        _run = run;
        Reason = reason;
    }

    public VcpuExitReason Reason { get; }

    private ReadOnlySpan<byte> Union => _run.Slice(UnionOffset, 256);

    /// <summary>KVM_EXIT_IO: port, direction, size, count and the data in the shared page.</summary>
    public IoExit Io
    {
        get
        {
            Expect(VcpuExitReason.Io);
            var u = Union;
            byte size = u[1];
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(u[4..]);
            ulong dataOffset = BinaryPrimitives.ReadUInt64LittleEndian(u[8..]);
            ulong length = (ulong)size * count;
            if (dataOffset > (ulong)_run.Length || length > (ulong)_run.Length - dataOffset)
                throw new InvalidOperationException($"kvm_run io data [0x{dataOffset:x}, +{length}) lies outside the {_run.Length}-byte page");
            return new IoExit(
                isOut: u[0] == 1,
                size: size,
                port: BinaryPrimitives.ReadUInt16LittleEndian(u[2..]),
                count: count,
                data: _run.Slice((int)dataOffset, (int)length));
        }
    }

    /// <summary>KVM_EXIT_MMIO: guest-physical address, direction and up to 8 data bytes.</summary>
    public MmioExit Mmio
    {
        get
        {
            Expect(VcpuExitReason.Mmio);
            var u = _run.Slice(UnionOffset, 256);
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(u[16..]);
            if (len > 8) throw new InvalidOperationException($"kvm_run mmio length {len} exceeds 8 bytes");
            return new MmioExit(
                address: BinaryPrimitives.ReadUInt64LittleEndian(u),
                isWrite: u[20] != 0,
                data: u.Slice(8, (int)len));
        }
    }

    /// <summary>KVM_EXIT_FAIL_ENTRY: the hardware's VM-entry failure reason.</summary>
    public (ulong HardwareReason, uint Cpu) FailEntry
    {
        get
        {
            Expect(VcpuExitReason.FailEntry);
            return (BinaryPrimitives.ReadUInt64LittleEndian(Union), BinaryPrimitives.ReadUInt32LittleEndian(Union[8..]));
        }
    }

    /// <summary>KVM_EXIT_INTERNAL_ERROR: suberror (1 = emulation failure) and its data words.</summary>
    public (uint Suberror, ulong[] Data) InternalError
    {
        get
        {
            Expect(VcpuExitReason.InternalError);
            var u = Union;
            uint n = Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(u[4..]), 16);
            var data = new ulong[n];
            for (int i = 0; i < n; i++) data[i] = BinaryPrimitives.ReadUInt64LittleEndian(u[(8 + 8 * i)..]);
            return (BinaryPrimitives.ReadUInt32LittleEndian(u), data);
        }
    }

    /// <summary>KVM_EXIT_SYSTEM_EVENT: shutdown (1), reset (2), crash (3)…, with its first data word.</summary>
    public (SystemEventType Type, ulong Flags) SystemEvent
    {
        get
        {
            Expect(VcpuExitReason.SystemEvent);
            return ((SystemEventType)BinaryPrimitives.ReadUInt32LittleEndian(Union), BinaryPrimitives.ReadUInt64LittleEndian(Union[8..]));
        }
    }

    /// <summary>KVM_EXIT_UNKNOWN: the hardware exit reason KVM did not handle.</summary>
    public ulong HardwareExitReason => BinaryPrimitives.ReadUInt64LittleEndian(Union);

    private void Expect(VcpuExitReason reason)
    {
        if (Reason != reason) throw new InvalidOperationException($"the exit is {Reason}, not {reason}");
    }

    public override string ToString() => Reason switch
    {
        VcpuExitReason.Io => Io.ToString(),
        VcpuExitReason.Mmio => Mmio.ToString(),
        VcpuExitReason.FailEntry => $"FailEntry(reason=0x{FailEntry.HardwareReason:x}, cpu={FailEntry.Cpu})",
        VcpuExitReason.InternalError => $"InternalError(suberror={InternalError.Suberror}, data=[{string.Join(", ", InternalError.Data.Select(d => $"0x{d:x}"))}])",
        VcpuExitReason.SystemEvent => $"SystemEvent({SystemEvent.Type}, 0x{SystemEvent.Flags:x})",
        _ => Reason.ToString(),
    };
}
