using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Exceptions;

namespace Podvisor.Api.Tests;

/// <summary>
/// <see cref="Kubeconfig"/> reads kubeconfigs into the same client configuration as the client library's own
/// (reflection-based, so not usable in a native build) reader: each case compares the two on one file.
/// </summary>
public sealed class KubeconfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("podvisor-kubeconfig-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (string CertificatePem, string KeyPem) SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    private static string Base64(string text) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static void AssertSame(KubernetesClientConfiguration expected, KubernetesClientConfiguration actual)
    {
        Assert.Equal(expected.Host, actual.Host);
        Assert.Equal(expected.Namespace, actual.Namespace);
        Assert.Equal(expected.CurrentContext, actual.CurrentContext);
        Assert.Equal(expected.AccessToken, actual.AccessToken);
        Assert.Equal(expected.Username, actual.Username);
        Assert.Equal(expected.Password, actual.Password);
        Assert.Equal(expected.SkipTlsVerify, actual.SkipTlsVerify);
        Assert.Equal(expected.TlsServerName, actual.TlsServerName);
        Assert.Equal(expected.ClientCertificateData, actual.ClientCertificateData);
        Assert.Equal(expected.ClientCertificateKeyData, actual.ClientCertificateKeyData);
        Assert.Equal(expected.ClientCertificateFilePath, actual.ClientCertificateFilePath);
        Assert.Equal(expected.ClientKeyFilePath, actual.ClientKeyFilePath);
        Assert.Equal(expected.SslCaCerts?.Select(c => c.Thumbprint), actual.SslCaCerts?.Select(c => c.Thumbprint));
    }

    [Fact]
    public void InlineCertificatesTokensAndContextsReadAsTheClientLibraryReadsThem()
    {
        var ca = SelfSigned("podvisor-test-ca");
        var client = SelfSigned("alice");
        string path = Write("config", $$"""
            apiVersion: v1
            kind: Config
            current-context: alice@one
            clusters:
            - name: one
              cluster:
                server: https://127.0.0.1:6443
                certificate-authority-data: {{Base64(ca.CertificatePem)}}
                tls-server-name: kubernetes.default
            - name: two
              cluster:
                server: https://10.0.0.2:443
                insecure-skip-tls-verify: true
            users:
            - name: alice
              user:
                client-certificate-data: {{Base64(client.CertificatePem)}}
                client-key-data: {{Base64(client.KeyPem)}}
            - name: bob
              user:
                token: 0123456789
            contexts:
            - name: alice@one
              context: { cluster: one, user: alice, namespace: vms }
            - name: bob@two
              context: { cluster: two, user: bob }
            """);

        AssertSame(KubernetesClientConfiguration.BuildConfigFromConfigFile(path), Kubeconfig.Load(path));
        AssertSame(KubernetesClientConfiguration.BuildConfigFromConfigFile(path, "bob@two"), Kubeconfig.Load(path, "bob@two"));
        var bob = Kubeconfig.Load(path, "bob@two");
        Assert.Equal("0123456789", bob.AccessToken);        // a plain scalar of digits is still the token
        Assert.True(bob.SkipTlsVerify);
        Assert.Equal("vms", Kubeconfig.Load(path).Namespace);
    }

    [Fact]
    public void FilesAreFoundRelativeToTheKubeconfigAndBasicAuthIsKept()
    {
        var ca = SelfSigned("podvisor-test-ca");
        var client = SelfSigned("carol");
        Directory.CreateDirectory(Path.Combine(_dir, "pki"));
        Write("pki/ca.crt", ca.CertificatePem);
        Write("pki/carol.crt", client.CertificatePem);
        Write("pki/carol.key", client.KeyPem);
        string path = Write("config", """
            apiVersion: v1
            kind: Config
            current-context: c
            clusters:
            - name: k
              cluster: { server: "https://127.0.0.1:6443", certificate-authority: pki/ca.crt }
            users:
            - name: carol
              user: { client-certificate: pki/carol.crt, client-key: pki/carol.key, username: carol, password: "s3cret" }
            contexts:
            - name: c
              context: { cluster: k, user: carol }
            """);
        var ours = Kubeconfig.Load(path);
        AssertSame(KubernetesClientConfiguration.BuildConfigFromConfigFile(path), ours);
        Assert.Equal(Path.Combine(_dir, "pki/carol.crt"), ours.ClientCertificateFilePath);
        Assert.Single(ours.SslCaCerts);
    }

    [Fact]
    public void ATokenFileIsReadAndAMissingContextOrAFileThatIsNoKubeconfigIsAnError()
    {
        Write("token", "abc.def.ghi\n");
        string path = Write("config", """
            current-context: t
            clusters: [{ name: k, cluster: { server: "http://127.0.0.1:8080" } }]
            users: [{ name: u, user: { tokenFile: token } }]
            contexts: [{ name: t, context: { cluster: k, user: u } }]
            """);
        Assert.Equal("abc.def.ghi", Kubeconfig.Load(path).AccessToken);

        var missing = Assert.Throws<KubeConfigException>(() => Kubeconfig.Load(path, "nowhere"));
        Assert.Contains("nowhere", missing.Message);
        string list = Write("list", "- just\n- a list\n");
        Assert.Contains("is not a kubeconfig", Assert.Throws<KubeConfigException>(() => Kubeconfig.Load(list)).Message);
        string broken = Write("broken", "clusters: [unclosed\n");
        Assert.Contains("line", Assert.Throws<KubeConfigException>(() => Kubeconfig.Load(broken)).Message);
    }
}
