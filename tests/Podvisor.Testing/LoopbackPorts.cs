using System.Net;
using System.Net.Sockets;

namespace Podvisor.Testing;

/// <summary>Ports for a process a test starts, where that process must be told a port (0 would mean "none" or is not taken).</summary>
public static class LoopbackPorts
{
    /// <summary>A TCP port free on loopback now (the system's pick, released at once for the caller's process to bind).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
