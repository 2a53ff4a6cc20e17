namespace Podvisor.Vmm.Migration;

/// <summary>
/// The source's first message: the protocol it speaks and the machine it sends. The target refuses a
/// machine that differs from the one it was built for (vCPUs, memory, devices in slot order).
/// </summary>
public sealed record MigrationHello(int ProtocolVersion, int Cpus, ulong MemoryBytes, int PageSize, IReadOnlyList<string> Devices);
