using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s.Models;
using Podvisor.Api.Control;
using Podvisor.Operator.Launcher;

namespace Podvisor.Operator.Tests;

/// <summary>
/// The operator's HTTPS client to launchers: it talks only to a launcher whose certificate comes from the VMI's own CA,
/// and sends the token to nobody else.
/// </summary>
public sealed class LauncherClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string Token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// <summary>A one-connection HTTPS server presenting <paramref name="tls"/>'s certificate; answers 404 and records what it was sent.</summary>
    private sealed class FakeControlApi : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Task _serving;

        public FakeControlApi(TlsMaterial tls)
        {
            _listener.Start();
            var certificate = X509Certificate2.CreateFromPem(tls.CertificatePem, tls.KeyPem);
            _serving = Task.Run(async () =>
            {
                using var client = await _listener.AcceptTcpClientAsync(Ct);
                await using var ssl = new SslStream(client.GetStream());
                try
                {
                    await ssl.AuthenticateAsServerAsync(certificate);
                    var buffer = new byte[4096];
                    int read = await ssl.ReadAsync(buffer, Ct);
                    lock (Received) Received.Append(Encoding.ASCII.GetString(buffer, 0, read));
                    await ssl.WriteAsync("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), Ct);
                    await ssl.FlushAsync(Ct);
                }
                catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
                {
                    // The client refused the certificate.
                }
            });
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public StringBuilder Received { get; } = new();

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            try
            {
                await _serving.WaitAsync(TimeSpan.FromSeconds(5), Ct);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or TimeoutException) { }
        }
    }

    private static V1Pod Pod() => new() { Metadata = new() { Name = "launcher", NamespaceProperty = "ns" }, Status = new() { PodIP = "127.0.0.1" } };

    [Fact]
    public async Task ALauncherWithItsVmisCertificateIsAskedWithTheToken()
    {
        var tls = ControlCertificates.Create("ns/vm");
        await using var api = new FakeControlApi(tls);
        using var client = new LauncherClient(api.Port);
        Assert.Null(await client.GetMigrationAsync(Pod(), new LauncherCredentials(Token, tls.CaCertificatePem), Ct));
        lock (api.Received)
        {
            Assert.StartsWith("GET /v1/migration HTTP/1.1", api.Received.ToString());
            Assert.Contains($"Authorization: Bearer {Token}", api.Received.ToString());
        }
    }

    [Fact]
    public async Task APeerWithAnotherCertificateIsRefusedBeforeTheTokenIsSent()
    {
        var launcher = ControlCertificates.Create("ns/other-vm");
        var expected = ControlCertificates.Create("ns/vm");
        await using var api = new FakeControlApi(launcher);
        using var client = new LauncherClient(api.Port);
        var e = await Assert.ThrowsAsync<LauncherUnreachableException>(() => client.GetMigrationAsync(Pod(), new LauncherCredentials(Token, expected.CaCertificatePem), Ct));
        Assert.Contains("ns/launcher", e.Message);
        lock (api.Received) Assert.Equal("", api.Received.ToString());
    }
}
