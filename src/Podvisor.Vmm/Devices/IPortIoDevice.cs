namespace Podvisor.Vmm.Devices;

/// <summary>A device on the x86 port-I/O bus. Offsets are relative to the device's base port; the
/// device never learns where it is mapped.</summary>
public interface IPortIoDevice
{
    void Read(ushort offset, Span<byte> data);

    void Write(ushort offset, ReadOnlySpan<byte> data);
}
