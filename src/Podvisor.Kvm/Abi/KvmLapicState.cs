using System.Runtime.InteropServices;

namespace Podvisor.Kvm.Abi;

/// <summary>struct kvm_lapic_state: the local APIC's 1 KiB register page.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmLapicState
{
    public InlineBytes1024 Regs;

    /// <summary>Reads the 32-bit APIC register at <paramref name="offset"/> (e.g. 0x20 = ID).</summary>
    public readonly uint GetRegister(int offset) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(((ReadOnlySpan<byte>)Regs).Slice(offset, 4));

    public void SetRegister(int offset, uint value) =>
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(((Span<byte>)Regs).Slice(offset, 4), value);
}
