using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Podvisor.Kvm.Tls;

namespace Podvisor.Kvm.Tests.Tls;

/// <summary>
/// OpenSSL on the socket (<see cref="MutualTlsContext"/>, <see cref="TlsSocketStream"/>) over loopback TCP: data both
/// ways intact, peers without the right certificate refused on both ends, .NET's SslStream as the other end, a cut
/// read leaving the link usable, the end of the stream, bad credentials.
/// </summary>
public sealed class TlsSocketStreamTests
{
    private const string Suite = "TLS_AES_128_GCM_SHA256";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A CA and one certificate it signs for both client and server use, as PEM.</summary>
    private sealed record Credentials(string CaPem, string CertificatePem, string KeyPem)
    {
        public static Credentials Issue(string name)
        {
            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var caRequest = new CertificateRequest($"CN={name} CA", caKey, HashAlgorithmName.SHA256);
            caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
            using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
            using var leaf = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1), RandomNumberGenerator.GetBytes(8));
            return new Credentials(ca.ExportCertificatePem(), leaf.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
        }

        public MutualTlsContext Context(TlsVersion version = TlsVersion.Tls13, string suites = Suite) =>
            MutualTlsContext.Create(CaPem, CertificatePem, KeyPem, version, suites);
    }

    /// <summary>A connected pair of loopback sockets: (the connecting end, the accepted end).</summary>
    private static async Task<(Socket Client, Socket Server)> ConnectedPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!, Ct);
        return (client, await listener.AcceptAsync(Ct));
    }

    private static async Task<(TlsSocketStream Client, TlsSocketStream Server)> HandshakeAsync(MutualTlsContext client, MutualTlsContext server)
    {
        var (c, s) = await ConnectedPairAsync();
        var connecting = client.ConnectAsync(c, Ct);
        var accepting = server.AcceptAsync(s, Ct);
        return (await connecting, await accepting);
    }

    [Fact]
    public async Task BytesCrossBothWaysIntactInWritesOfAnySizeAndEachEndSeesTheOthersCertificate()
    {
        var credentials = Credentials.Issue("both");
        using var context = credentials.Context();
        var (client, server) = await HandshakeAsync(context, context);
        await using (client)
        await using (server)
        {
            Assert.Equal(("TLSv1.3", Suite), (client.Protocol, client.CipherSuite));
            Assert.Equal(("TLSv1.3", Suite), (server.Protocol, server.CipherSuite));
            using var mine = X509Certificate2.CreateFromPem(credentials.CertificatePem);
            Assert.Equal(mine.Thumbprint, server.PeerCertificate!.Thumbprint);
            Assert.Equal(mine.Thumbprint, client.PeerCertificate!.Thumbprint);

            // 8 MiB in writes of 1 byte to 1 MiB: more than the socket buffers hold, so writes wait for the reader.
            var data = RandomNumberGenerator.GetBytes(8 << 20);
            var sending = Task.Run(async () =>
            {
                int at = 0, size = 1;
                while (at < data.Length)
                {
                    int n = Math.Min(size, data.Length - at);
                    await client.WriteAsync(data.AsMemory(at, n), Ct);
                    at += n;
                    size = size >= 1 << 20 ? 1 : size * 7 + 3;
                }
            }, Ct);
            var received = new byte[data.Length];
            await server.ReadExactlyAsync(received, Ct);
            await sending;
            Assert.True(data.AsSpan().SequenceEqual(received));

            await server.WriteAsync("answer"u8.ToArray(), Ct);
            var answer = new byte[6];
            await client.ReadExactlyAsync(answer, Ct);
            Assert.Equal("answer"u8.ToArray(), answer);
        }
    }

    [Fact]
    public async Task APeerWithACertificateFromAnotherCaIsRefusedAndTheRefusalIsReportedOnBothEnds()
    {
        using var server = Credentials.Issue("server").Context();
        using var stranger = Credentials.Issue("stranger").Context();
        var (c, s) = await ConnectedPairAsync();
        var connecting = stranger.ConnectAsync(c, Ct);
        var accepting = server.AcceptAsync(s, Ct);
        // Each end checks the other: the stranger refuses the server's certificate first (it comes first in TLS 1.3).
        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => connecting);
        Assert.Contains("certificate", refused.Message, StringComparison.Ordinal);
        var told = await Assert.ThrowsAsync<AuthenticationException>(() => accepting);
        Assert.StartsWith("the TLS handshake failed", told.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClientWithTheServersCaButAnotherCertificateOfItsOwnIsRefusedByTheServer()
    {
        var serverCredentials = Credentials.Issue("server");
        var stranger = Credentials.Issue("stranger");
        using var server = serverCredentials.Context();
        // Trusts the server's CA, but its own certificate is from another one.
        using var client = MutualTlsContext.Create(serverCredentials.CaPem, stranger.CertificatePem, stranger.KeyPem, TlsVersion.Tls13, Suite);
        var (c, s) = await ConnectedPairAsync();
        var connecting = client.ConnectAsync(c, Ct);
        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => server.AcceptAsync(s, Ct));
        Assert.Contains("the peer's certificate was refused", refused.Message, StringComparison.Ordinal);
        // The client finished its handshake before the server read its certificate (TLS 1.3): it learns on its first read.
        try
        {
            await using var link = await connecting;
            await Assert.ThrowsAnyAsync<IOException>(async () => await link.ReadExactlyAsync(new byte[1], Ct));
        }
        catch (AuthenticationException)
        {
        }
    }

    [Fact]
    public async Task DotNetsSslStreamIsAPeerAndOneWithoutACertificateIsRefused()
    {
        var credentials = Credentials.Issue("interop");
        using var context = credentials.Context();
        using var certificate = X509Certificate2.CreateFromPem(credentials.CertificatePem, credentials.KeyPem);
        using var ca = X509Certificate2.CreateFromPem(credentials.CaPem);
        foreach (bool presentsCertificate in new[] { true, false })
        {
            var (c, s) = await ConnectedPairAsync();
            await using var ssl = new SslStream(new NetworkStream(c, ownsSocket: true));
            var connecting = ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "peer",
                ClientCertificates = presentsCertificate ? [certificate] : [],
                EnabledSslProtocols = SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, peer, _, _) => peer?.GetCertHashString() == certificate.GetCertHashString(),
            }, Ct);
            if (presentsCertificate)
            {
                await using var server = await context.AcceptAsync(s, Ct);
                await connecting;
                await ssl.WriteAsync("from SslStream"u8.ToArray(), Ct);
                var got = new byte[14];
                await server.ReadExactlyAsync(got, Ct);
                Assert.Equal("from SslStream"u8.ToArray(), got);
                await server.WriteAsync("from OpenSSL"u8.ToArray(), Ct);
                got = new byte[12];
                await ssl.ReadExactlyAsync(got, Ct);
                Assert.Equal("from OpenSSL"u8.ToArray(), got);
            }
            else
            {
                var refused = await Assert.ThrowsAsync<AuthenticationException>(() => context.AcceptAsync(s, Ct));
                Assert.Contains("certificate", refused.Message, StringComparison.Ordinal);
                try { await connecting; } catch (Exception e) when (e is AuthenticationException or IOException) { }
            }
        }
    }

    [Fact]
    public async Task AReadCutShortLeavesTheLinkInStepForWhatFollows()
    {
        using var context = Credentials.Issue("cut").Context();
        var (client, server) = await HandshakeAsync(context, context);
        await using (client)
        await using (server)
        {
            using (var soon = CancellationTokenSource.CreateLinkedTokenSource(Ct))
            {
                soon.CancelAfter(TimeSpan.FromMilliseconds(200));
                await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await server.ReadExactlyAsync(new byte[16], soon.Token));
            }
            await server.WriteAsync("abort: cancelled"u8.ToArray(), Ct);
            var got = new byte[16];
            await client.ReadExactlyAsync(got, Ct);
            Assert.Equal("abort: cancelled"u8.ToArray(), got);
            await client.WriteAsync("ok"u8.ToArray(), Ct);
            got = new byte[2];
            await server.ReadExactlyAsync(got, Ct);
            Assert.Equal("ok"u8.ToArray(), got);
        }
    }

    [Fact]
    public async Task WhenThePeerGoesAwayAReadEndsTheStreamAndAWriteFails()
    {
        using var context = Credentials.Issue("gone").Context();
        var (client, server) = await HandshakeAsync(context, context);
        await using (client)
        {
            await server.WriteAsync("last"u8.ToArray(), Ct);
            await server.DisposeAsync();
            var got = new byte[4];
            await client.ReadExactlyAsync(got, Ct);
            Assert.Equal(0, await client.ReadAsync(new byte[8], Ct));
            await Assert.ThrowsAnyAsync<IOException>(async () =>
            {
                for (int i = 0; i < 64; i++) await client.WriteAsync(new byte[64 << 10], Ct);     // the reset arrives within a few
            });
        }
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await server.ReadExactlyAsync(new byte[1], Ct));
    }

    [Fact]
    public async Task AHandshakeWithAPeerThatNeverSpeaksEndsWhenCancelledAndClosesTheSocket()
    {
        using var context = Credentials.Issue("silent").Context();
        var (c, s) = await ConnectedPairAsync();
        using (s)
        {
            using var soon = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            soon.CancelAfter(TimeSpan.FromMilliseconds(300));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => context.AcceptAsync(s, soon.Token));
            Assert.Throws<ObjectDisposedException>(() => s.Send(new byte[1]));
        }
        c.Dispose();
    }

    [Fact]
    public async Task APeerThatHangsUpMidHandshakeFailsItAtOnce()
    {
        using var context = Credentials.Issue("hang-up").Context();
        var (c, s) = await ConnectedPairAsync();
        c.Dispose();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(10));      // a handshake that spins on the closed socket ends here, failing the test
        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => context.AcceptAsync(s, bounded.Token));
        Assert.Contains("the peer closed the connection", refused.Message, StringComparison.Ordinal);

        // Hanging up after the client's first flight, too.
        (c, s) = await ConnectedPairAsync();
        var connecting = context.ConnectAsync(c, bounded.Token);
        var first = new byte[64];
        Assert.True(await s.ReceiveAsync(first, Ct) > 0);
        s.Dispose();
        await Assert.ThrowsAsync<AuthenticationException>(() => connecting);
    }

    [Fact]
    public async Task EndsSpeakingDifferentVersionsDoNotConnect()
    {
        var credentials = Credentials.Issue("versions");
        using var tls13 = credentials.Context();
        using var tls12 = credentials.Context(TlsVersion.Tls12, "ECDHE-ECDSA-AES128-GCM-SHA256");
        var (c, s) = await ConnectedPairAsync();
        var connecting = tls12.ConnectAsync(c, Ct);
        await Assert.ThrowsAsync<AuthenticationException>(() => tls13.AcceptAsync(s, Ct));
        await Assert.ThrowsAsync<AuthenticationException>(() => connecting);
    }

    [Fact]
    public void CredentialsThatCannotBeUsedAreRefusedWithWhatIsWrong()
    {
        var credentials = Credentials.Issue("good");
        var other = Credentials.Issue("other");
        var notPem = Assert.Throws<TlsException>(() => MutualTlsContext.Create(credentials.CaPem, credentials.CertificatePem, "not a key", TlsVersion.Tls13, Suite));
        Assert.Contains("private key PEM cannot be read", notPem.Message, StringComparison.Ordinal);
        var mismatch = Assert.Throws<TlsException>(() => MutualTlsContext.Create(credentials.CaPem, credentials.CertificatePem, other.KeyPem, TlsVersion.Tls13, Suite));
        Assert.Contains("the private key (it must be the certificate's)", mismatch.Message, StringComparison.Ordinal);
        var noCa = Assert.Throws<TlsException>(() => MutualTlsContext.Create("", credentials.CertificatePem, credentials.KeyPem, TlsVersion.Tls13, Suite));
        Assert.Contains("CA certificate PEM cannot be read", noCa.Message, StringComparison.Ordinal);
        var suite = Assert.Throws<TlsException>(() => MutualTlsContext.Create(credentials.CaPem, credentials.CertificatePem, credentials.KeyPem, TlsVersion.Tls13, "TLS_NO_SUCH_SUITE"));
        Assert.Contains("TLS_NO_SUCH_SUITE", suite.Message, StringComparison.Ordinal);
    }
}
