using Iced.Intel;

namespace Podvisor.Kvm.Tests.Guests;

/// <summary>Assembles test guests with Iced's assembler.</summary>
public static class GuestCode
{
    public static byte[] Assemble(GuestMode mode, ulong address, Action<Assembler> build)
    {
        var assembler = new Assembler((int)mode);
        build(assembler);
        using var stream = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(stream), address);
        return stream.ToArray();
    }
}
