namespace Podvisor.Kvm;

/// <summary>A port-I/O exit. <see cref="Data"/> holds size×count bytes in the shared kvm_run page:
/// for OUT the guest's bytes; for IN the VMM writes the answer there.</summary>
public readonly ref struct IoExit
{
    internal IoExit(bool isOut, byte size, ushort port, uint count, Span<byte> data)
    {
        IsOut = isOut;
        Size = size;
        Port = port;
        Count = count;
        Data = data;
    }

    public bool IsOut { get; }
    public byte Size { get; }
    public ushort Port { get; }
    /// <summary>Repeat count: greater than 1 for REP INS/OUTS.</summary>
    public uint Count { get; }
    public Span<byte> Data { get; }

    public override string ToString() =>
        $"Io({(IsOut ? "out" : "in")} port=0x{Port:x} size={Size} count={Count} data={Convert.ToHexString(Data)})";
}
