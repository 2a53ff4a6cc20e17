namespace Podvisor.Vmm.Devices;

/// <summary>A device on the MMIO bus. Offsets are relative to its base address.</summary>
public interface IMmioDevice
{
    void Read(ulong offset, Span<byte> data);

    void Write(ulong offset, ReadOnlySpan<byte> data);
}
