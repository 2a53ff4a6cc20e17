namespace Podvisor.Testing;

/// <summary>
/// What a CNI plugin does for the test node agent: each pod gets a network namespace of its own, linked to the
/// node's by a veth pair, with eth0 holding the pod IP (a /30 out of RFC 2544's benchmarking range, 198.18.0.0/15,
/// which no real network uses) and a default route to the node's end. Deleting the namespace takes the pair.
/// </summary>
public static class PodNetworks
{
    private const int Blocks = 1 << 15;                  // /30s in 198.18.0.0/15
    private static int _next = Random.Shared.Next(Blocks);   // a random start: two test processes on one machine practically never meet

    /// <summary>Makes the pod's namespace; returns it, the pod IP and the node's end of the link.</summary>
    public static (NetworkNamespace Namespace, string PodIp, string NodeIp) Create()
    {
        var ns = new NetworkNamespace("pvpod");
        try
        {
            int block = Interlocked.Increment(ref _next) % Blocks;
            uint baseAddress = (198u << 24 | 18u << 16) + (uint)block * 4;
            string node = Address(baseAddress + 1), pod = Address(baseAddress + 2);
            ns.LinkToCaller("eth0", $"{pod}/30", $"pvh{ns.Name[^8..]}", node);
            return (ns, pod, node);
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    private static string Address(uint value) => $"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}";
}
