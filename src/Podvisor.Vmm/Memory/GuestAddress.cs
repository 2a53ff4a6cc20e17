namespace Podvisor.Vmm.Memory;

/// <summary>A guest-physical address: typed so it is never confused with a host pointer or an offset.</summary>
public readonly record struct GuestAddress(ulong Value) : IComparable<GuestAddress>
{
    public GuestAddress Add(ulong offset) => checked(new GuestAddress(Value + offset));

    public int CompareTo(GuestAddress other) => Value.CompareTo(other.Value);

    public static bool operator <(GuestAddress a, GuestAddress b) => a.Value < b.Value;
    public static bool operator >(GuestAddress a, GuestAddress b) => a.Value > b.Value;
    public static bool operator <=(GuestAddress a, GuestAddress b) => a.Value <= b.Value;
    public static bool operator >=(GuestAddress a, GuestAddress b) => a.Value >= b.Value;

    public override string ToString() => $"0x{Value:x}";
}
