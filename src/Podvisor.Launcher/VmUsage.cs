using Podvisor.Kvm;

namespace Podvisor.Launcher;

/// <summary>What a launcher's VM costs and does, as its metrics report it.</summary>
/// <param name="GuestMemoryBytes">The guest's RAM as configured.</param>
/// <param name="Exits">vCPU exits by reason since the launcher started.</param>
/// <param name="Guest">The guest RAM the host backs now; null while no VM exists.</param>
/// <param name="BootTimeMs">When the guest's init marked its boot (the boot-timer device), if it has.</param>
public sealed record VmUsage(ulong GuestMemoryBytes, IReadOnlyDictionary<VcpuExitReason, long> Exits, GuestResidency? Guest, double? BootTimeMs);

/// <summary>Guest RAM in host memory now, and whether the process's RSS counts it (hugetlbfs pages are not counted).</summary>
public sealed record GuestResidency(ulong ResidentBytes, bool InProcessRss);
