namespace Podvisor.Vmm.Boot;

/// <summary>What the loader decided: where everything went and where the boot vCPU starts.</summary>
/// <param name="ZeroPage">The boot parameters: the zero page (Linux64) or hvm_start_info (PVH).</param>
public sealed record BootSetup(ulong EntryPoint, ulong ZeroPage, ulong InitrdAddress, ulong InitrdSize, string CommandLine,
    IReadOnlyList<E820Entry> MemoryMap)
{
    public BootProtocol Protocol { get; init; } = BootProtocol.Linux64;
}
