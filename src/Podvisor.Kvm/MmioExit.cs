namespace Podvisor.Kvm;

/// <summary>An MMIO exit. <see cref="Data"/> (1–8 bytes) lives in the shared kvm_run page: for a write
/// the guest's bytes; for a read the VMM writes the answer there.</summary>
public readonly ref struct MmioExit
{
    internal MmioExit(ulong address, bool isWrite, Span<byte> data)
    {
        Address = address;
        IsWrite = isWrite;
        Data = data;
    }

    public ulong Address { get; }
    public bool IsWrite { get; }
    public Span<byte> Data { get; }

    public override string ToString() =>
        $"Mmio({(IsWrite ? "write" : "read")} addr=0x{Address:x} len={Data.Length} data={Convert.ToHexString(Data)})";
}
