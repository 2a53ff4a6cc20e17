namespace Podvisor.Vmm.Boot;

/// <summary>One BIOS e820 memory-map entry as the zero page carries it.</summary>
public readonly record struct E820Entry(ulong Address, ulong Size, E820Type Type);

public enum E820Type : uint
{
    Ram = 1,
    Reserved = 2,
}
