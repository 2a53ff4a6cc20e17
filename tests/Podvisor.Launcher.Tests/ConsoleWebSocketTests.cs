using System.Net;
using System.Net.WebSockets;
using System.Text;
using Podvisor.Api.Control;

namespace Podvisor.Launcher.Tests;

/// <summary>The control API's console: a WebSocket carrying the guest's output out and typed input in.</summary>
public sealed class ConsoleWebSocketTests : IAsyncDisposable
{
    private const string Token = "0123456789abcdef-token";
    private readonly ConsoleFanout _output = new();
    private readonly List<byte> _typed = [];
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;
    private ControlServer? _server;

    private sealed class RunningVm : IVmControl
    {
        public VmStatus Status => new("default/vm1", "Running", 1, 256, 0, null, null, null);
        public bool Pause() => false;
        public bool Unpause() => false;
        public bool RequestShutdown() => false;
        public void Stop() { }
    }

    private async Task<int> StartAsync()
    {
        _server = await ControlServer.StartAsync(new RunningVm(), new ConsoleAccess(_output, input => { lock (_typed) _typed.AddRange(input.ToArray()); }),
            IPAddress.Loopback, 0, Encoding.UTF8.GetBytes(Token), ControlServer.SelfSignedCertificate("vm1"), cancellationToken: _ct);
        return _server.Port;
    }

    private static ClientWebSocket Socket(string header, string? value)
    {
        var socket = new ClientWebSocket();
        socket.Options.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        if (value is not null) socket.Options.SetRequestHeader(header, value);
        return socket;
    }

    private async Task<string> ReceiveUntilAsync(ClientWebSocket socket, string expected)
    {
        var text = new StringBuilder();
        var buffer = new byte[1024];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (!text.ToString().Contains(expected, StringComparison.Ordinal))
        {
            var received = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.Equal(WebSocketMessageType.Binary, received.MessageType);
            text.Append(Encoding.UTF8.GetString(buffer, 0, received.Count));
        }
        return text.ToString();
    }

    [Theory]
    [InlineData("Authorization", "Bearer " + Token)]
    [InlineData(ControlApiHeaders.Token, Token)]                 // as it arrives through the API server's pod proxy
    public async Task OutputReachesTheClientAndWhatItSendsIsTyped(string header, string value)
    {
        int port = await StartAsync();
        using var socket = Socket(header, value);
        await socket.ConnectAsync(new Uri($"wss://127.0.0.1:{port}/v1/console"), _ct);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_output.ClientCount == 0 && DateTime.UtcNow < deadline) await Task.Delay(10, _ct);
        foreach (byte b in "login: "u8) _output.Write(b);
        Assert.Contains("login: ", await ReceiveUntilAsync(socket, "login: "));

        await socket.SendAsync("root\n"u8.ToArray(), WebSocketMessageType.Binary, true, _ct);
        while (DateTime.UtcNow < deadline)
        {
            lock (_typed) if (_typed.Count == 5) break;
            await Task.Delay(10, _ct);
        }
        lock (_typed) Assert.Equal("root\n", Encoding.UTF8.GetString([.. _typed]));

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", _ct);
        while (_output.ClientCount > 0 && DateTime.UtcNow < deadline) await Task.Delay(10, _ct);
        Assert.Equal(0, _output.ClientCount);                        // detached: output is no longer kept for it
    }

    [Fact]
    public async Task WithoutTheTokenThereIsNoConsole()
    {
        int port = await StartAsync();
        using var socket = Socket(ControlApiHeaders.Token, "wrong-token-0123456789");
        var e = await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(new Uri($"wss://127.0.0.1:{port}/v1/console"), _ct));
        Assert.Contains("401", e.Message);
        Assert.Equal(0, _output.ClientCount);
    }

    [Fact]
    public async Task APlainRequestIsToldToUseAWebSocket()
    {
        int port = await StartAsync();
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://127.0.0.1:{port}/v1/console");
        request.Headers.Add(ControlApiHeaders.Token, Token);
        using var response = await http.SendAsync(request, _ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("WebSocket", await response.Content.ReadAsStringAsync(_ct));
    }

    [Fact]
    public void AClientThatFallsBehindLosesOutputNotTheGuestsTime()
    {
        var client = _output.Attach();
        for (int i = 0; i < ConsoleFanout.MaxPendingBytes + 10; i++) _output.Write((byte)'x');
        Assert.Equal(10, client.DroppedBytes);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }
}
