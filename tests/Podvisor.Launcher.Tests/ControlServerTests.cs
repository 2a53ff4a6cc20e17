using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Podvisor.Launcher.Tests;

public sealed class ControlServerTests
{
    private const string Token = "0123456789abcdef-token";

    private sealed class FakeVm : IVmControl
    {
        public string State = "Starting";
        public bool Listens = true;
        public readonly List<string> Calls = [];

        public VmStatus Status => new("default/vm1", State, 1, 256, 0, null, null, null);

        public bool Pause()
        {
            Calls.Add("pause");
            if (State != "Running") return false;
            State = "Paused";
            return true;
        }

        public bool Unpause()
        {
            Calls.Add("unpause");
            if (State != "Paused") return false;
            State = "Running";
            return true;
        }

        public bool RequestShutdown()
        {
            Calls.Add("shutdown");
            return Listens;
        }

        public void Stop() => Calls.Add("stop");
    }

    private static async Task<(ControlServer Server, HttpClient Client)> Start(FakeVm vm, string? token = Token)
    {
        var certificate = ControlServer.SelfSignedCertificate("vm1");
        var server = await ControlServer.StartAsync(vm, IPAddress.Loopback, 0, token is null ? null : System.Text.Encoding.UTF8.GetBytes(token), certificate,
            TestContext.Current.CancellationToken);
        var handler = new HttpClientHandler
        {
            // The client pins the launcher's own certificate, as the operator will.
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == certificate.Thumbprint,
        };
        var client = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{server.Port}") };
        return (server, client);
    }

    private static HttpRequestMessage Put(string path, string? token = Token)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    [Fact]
    public async Task ReadyzFollowsTheGuestAndNeedsNoCredentials()
    {
        var vm = new FakeVm();
        var (server, client) = await Start(vm);
        await using var _ = server;
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/readyz", ct)).StatusCode);
        vm.State = "Running";
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz", ct)).StatusCode);
        vm.State = "Paused";
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/readyz", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz", ct)).StatusCode);
    }

    [Fact]
    public async Task TheApiWantsTheTokenAndDoesWhatItSays()
    {
        var vm = new FakeVm { State = "Running" };
        var (server, client) = await Start(vm);
        await using var _ = server;
        var ct = TestContext.Current.CancellationToken;

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(Put("/v1/pause", token: null), ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(Put("/v1/pause", token: "0123456789abcdef-wrong"), ct)).StatusCode);
        Assert.Empty(vm.Calls);                                      // refused before reaching the VM

        var status = new HttpRequestMessage(HttpMethod.Get, "/v1/status");
        status.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        var answer = await client.SendAsync(status, ct);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        using (var json = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(ct)))
        {
            Assert.Equal("Running", json.RootElement.GetProperty("state").GetString());
            Assert.Equal("default/vm1", json.RootElement.GetProperty("name").GetString());
        }

        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(Put("/v1/pause"), ct)).StatusCode);
        Assert.Equal("Paused", vm.State);
        var again = await client.SendAsync(Put("/v1/pause"), ct);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("not Running", await again.Content.ReadAsStringAsync(ct));
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(Put("/v1/unpause"), ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(Put("/v1/shutdown"), ct)).StatusCode);
        vm.Listens = false;
        var deaf = await client.SendAsync(Put("/v1/shutdown"), ct);
        Assert.Equal(HttpStatusCode.Conflict, deaf.StatusCode);
        Assert.Contains("/v1/stop", await deaf.Content.ReadAsStringAsync(ct));
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(Put("/v1/stop"), ct)).StatusCode);
        Assert.Equal(["pause", "pause", "unpause", "shutdown", "shutdown", "stop"], vm.Calls);
    }

    [Fact]
    public async Task WithoutATokenTheApiIsClosedNotOpen()
    {
        var vm = new FakeVm { State = "Running" };
        var (server, client) = await Start(vm, token: null);
        await using var _ = server;
        var ct = TestContext.Current.CancellationToken;
        var answer = await client.SendAsync(Put("/v1/stop", token: "anything-at-all-here"), ct);
        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        Assert.Contains("--control-token-file", await answer.Content.ReadAsStringAsync(ct));
        Assert.Empty(vm.Calls);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz", ct)).StatusCode);
    }
}
