using System.Threading.Channels;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Podvisor.NodeAgent.DevicePluginApi;

namespace Podvisor.NodeAgent.Tests;

/// <summary>The kubelet's side of the device plugin API: Registration on kubelet.sock in the device-plugins directory,
/// each Register request recorded (or refused while <see cref="Refusal"/> is set).</summary>
internal sealed class FakeKubelet : IAsyncDisposable
{
    private readonly WebApplication _app;

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

    private FakeKubelet(WebApplication app) => _app = app;

    public static async Task<FakeKubelet> StartAsync(string pluginDirectory)
    {
        string socket = Path.Combine(pluginDirectory, "kubelet.sock");
        if (File.Exists(socket)) File.Delete(socket);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socket, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton<RegistrationService>();
        FakeKubelet? kubelet = null;
        builder.Services.AddSingleton(_ => kubelet!);
        var app = builder.Build();
        kubelet = new FakeKubelet(app);
        app.MapGrpcService<RegistrationService>();
        await app.StartAsync();
        return kubelet;
    }

    /// <summary>The next registration, within <paramref name="seconds"/>.</summary>
    public async Task<RegisterRequest> NextRegistrationAsync(int seconds = 20)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        return await Registered.Reader.ReadAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
