namespace Podvisor.Vmm.Boot;

/// <summary>What the loader decided: where everything went and where the boot vCPU starts.</summary>
public sealed record BootSetup(ulong EntryPoint, ulong ZeroPage, ulong InitrdAddress, ulong InitrdSize, string CommandLine,
    IReadOnlyList<E820Entry> MemoryMap);
