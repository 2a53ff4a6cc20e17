using System.Net.Sockets;
using Grpc.Net.Client;
using Podvisor.NodeAgent.DevicePluginApi;

namespace Podvisor.NodeAgent;

/// <summary>Registers a device plugin with the kubelet: a Register call on the kubelet's own socket (kubelet.sock in
/// its device-plugins directory), naming the resource and the plugin's socket.</summary>
public static class KubeletRegistration
{
    public const string ApiVersion = "v1beta1", KubeletSocket = "kubelet.sock";

    /// <summary>Null when the kubelet accepted it, else why not (no kubelet there, or its refusal).</summary>
    public static async Task<string?> RegisterAsync(string pluginDirectory, ServedDevice device, CancellationToken cancellationToken)
    {
        string kubelet = Path.Combine(pluginDirectory, KubeletSocket);
        if (!File.Exists(kubelet)) return $"no kubelet socket at {kubelet}";
        using var channel = UnixChannel(kubelet);
        try
        {
            await new Registration.RegistrationClient(channel).RegisterAsync(new RegisterRequest
            {
                Version = ApiVersion, Endpoint = device.Endpoint, ResourceName = device.ResourceName,
                Options = new DevicePluginOptions { GetPreferredAllocationAvailable = true },
            }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken).ResponseAsync.ConfigureAwait(false);
            return null;
        }
        catch (Grpc.Core.RpcException e)
        {
            return $"the kubelet refused {device.ResourceName}: {e.Status.StatusCode} {e.Status.Detail}";
        }
    }

    /// <summary>A gRPC channel over a Unix socket (the address's host is a placeholder; every connection goes to the socket).</summary>
    public static GrpcChannel UnixChannel(string socketPath) => GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        },
    });
}
