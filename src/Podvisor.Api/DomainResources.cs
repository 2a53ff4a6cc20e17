namespace Podvisor.Api;

/// <summary>What a domain asks for once defaults apply: vCPUs and guest memory.</summary>
public static class DomainResources
{
    public const int MaxVcpus = 254;

    /// <summary>sockets × cores × threads, each defaulting to 1.</summary>
    public static int Vcpus(this DomainSpec domain) =>
        (domain.Cpu?.Sockets ?? 1) * (domain.Cpu?.Cores ?? 1) * (domain.Cpu?.Threads ?? 1);

    /// <summary>memory.guest, else resources.requests.memory; null when neither is given.</summary>
    public static string? GuestMemoryQuantity(this DomainSpec domain) =>
        domain.Memory?.Guest ?? (domain.Resources?.Requests?.TryGetValue("memory", out string? m) == true ? m : null);

    /// <summary>Guest RAM in bytes (only call after validation passed).</summary>
    public static ulong GuestMemoryBytes(this DomainSpec domain) =>
        Quantities.TryParseBytes(domain.GuestMemoryQuantity(), out ulong bytes)
            ? bytes
            : throw new InvalidOperationException("guest memory is missing or invalid: validate the spec first");
}
