using System.Threading.Channels;
using Grpc.Core;
using Podvisor.NodeAgent.DevicePluginApi;

namespace Podvisor.NodeAgent.Tests;

/// <summary>The kubelet's side of the device plugin API: Registration on kubelet.sock in the device-plugins directory,
/// each Register request recorded (or refused while <see cref="Refusal"/> is set).</summary>
internal sealed class FakeKubelet : IAsyncDisposable
{
    private UnixGrpcServer _server = null!;

    public Channel<RegisterRequest> Registered { get; } = Channel.CreateUnbounded<RegisterRequest>();

    public string? Refusal { get; set; }

    private sealed class RegistrationService(FakeKubelet kubelet) : Registration.RegistrationBase
    {
        public override Task<Empty> Register(RegisterRequest request, ServerCallContext context)
        {
            if (kubelet.Refusal is { } refusal) throw new RpcException(new Status(StatusCode.AlreadyExists, refusal));
            kubelet.Registered.Writer.TryWrite(request);
            return Task.FromResult(new Empty());
        }
    }

    public static async Task<FakeKubelet> StartAsync(string pluginDirectory)
    {
        var kubelet = new FakeKubelet();
        kubelet._server = await UnixGrpcServer.StartAsync(Path.Combine(pluginDirectory, KubeletRegistration.KubeletSocket), new RegistrationService(kubelet),
            TestContext.Current.CancellationToken);
        return kubelet;
    }

    /// <summary>The next registration, within <paramref name="seconds"/>.</summary>
    public async Task<RegisterRequest> NextRegistrationAsync(int seconds = 20)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        return await Registered.Reader.ReadAsync(timeout.Token);
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
