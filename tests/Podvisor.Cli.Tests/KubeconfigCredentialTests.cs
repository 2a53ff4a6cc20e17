namespace Podvisor.Cli.Tests;

/// <summary>
/// The kubeconfig's ways of reaching and proving oneself to the API server, as the native CLI resolves them itself
/// (no Kubernetes client library in it): a certificate authority file relative to the kubeconfig, an exec credential
/// plugin, impersonation; and each way one can be wrong, said as an error and exit 1. Against the real API server.
/// </summary>
public sealed class KubeconfigCredentialTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("podvisor-kubeconfig-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A kubeconfig in its own folder: the server checked against <paramref name="cluster"/>'s fields, the user
    /// <paramref name="user"/> (YAML flow mappings).</summary>
    private string Kubeconfig(string clusterFields, string user, string context = "test")
    {
        string path = Path.Combine(_folder, "config");
        File.WriteAllText(path, $$"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: test
              cluster: {server: "{{cluster.Server.Url}}", {{clusterFields}}}
            users:
            - name: someone
              user: {{user}}
            contexts:
            - name: {{context}}
              context: {cluster: test, user: someone}
            current-context: {{context}}
            """);
        return path;
    }

    private const string SkipVerify = "insecure-skip-tls-verify: true";

    private string TokenUser => $$"""{token: "{{cluster.Server.Token}}"}""";

    private static Podvisor.Result List(string kubeconfig, params string[] more) =>
        Podvisor.Run(["list", "-n", "nothing-here", "--kubeconfig", kubeconfig, .. more], native: true);

    private string Script(string name, string body)
    {
        string path = Path.Combine(_folder, "creds", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "#!/bin/sh\n" + body);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public void TheServerIsCheckedAgainstTheKubeconfigsCertificateAuthorityAndRefusedUnderAnother()
    {
        // kube-apiserver made its own CA and serving certificate (apiserver.crt holds both) in its cert dir.
        File.Copy(Path.Combine(cluster.Server.StateDirectory, "certs", "apiserver.crt"), Path.Combine(_folder, "server-ca.crt"));
        var trusted = List(Kubeconfig("certificate-authority: server-ca.crt", TokenUser));   // relative to the kubeconfig
        Assert.True(trusted.ExitCode == 0, trusted.Stderr);
        Assert.Equal("No VMs in namespace nothing-here.\n", trusted.Stderr);

        using (var rsa = System.Security.Cryptography.RSA.Create(2048))
        {
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=someone-else's CA", rsa,
                System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
            using var other = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            File.WriteAllText(Path.Combine(_folder, "other-ca.crt"), other.ExportCertificatePem());
        }
        var untrusted = List(Kubeconfig("certificate-authority: other-ca.crt", TokenUser));
        Assert.Equal(1, untrusted.ExitCode);
        Assert.StartsWith("podvisor: the API server: ", untrusted.Stderr);
        Assert.Contains("check the kubeconfig's server and credentials", untrusted.Stderr);

        var missing = List(Kubeconfig("certificate-authority: no-such.crt", TokenUser));
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("certificate authority of cluster test", missing.Stderr);
        Assert.Contains("no-such.crt", missing.Stderr);
    }

    [Fact]
    public void AnExecPluginsTokenIsUsedAndThePluginIsToldWhatIsAsked()
    {
        Script("token.sh", """
            case "$KUBERNETES_EXEC_INFO" in *'"kind":"ExecCredential"'*) ;; *) echo "no exec info: $KUBERNETES_EXEC_INFO" >&2; exit 3 ;; esac
            echo "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"$TOKEN\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}"
            """);
        string user = $$$"""{exec: {apiVersion: client.authentication.k8s.io/v1, command: ./creds/token.sh, env: [{name: TOKEN, value: "{{{cluster.Server.Token}}}"}]}}""";
        var listed = List(Kubeconfig(SkipVerify, user));
        Assert.True(listed.ExitCode == 0, listed.Stderr);
        Assert.Equal("No VMs in namespace nothing-here.\n", listed.Stderr);

        Script("token.sh", "echo 'login required: run sso-login' >&2; exit 1\n");
        var refused = List(Kubeconfig(SkipVerify, user));
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("exec credential plugin", refused.Stderr);
        Assert.Contains("login required: run sso-login", refused.Stderr);

        Script("token.sh", "echo 'not json'\n");
        var garbled = List(Kubeconfig(SkipVerify, user));
        Assert.Equal(1, garbled.ExitCode);
        Assert.Contains("printed something that is not JSON", garbled.Stderr);

        var absent = List(Kubeconfig(SkipVerify, "{exec: {apiVersion: client.authentication.k8s.io/v1, command: no-such-login-tool}}"));
        Assert.Equal(1, absent.ExitCode);
        Assert.Contains("no-such-login-tool cannot be run", absent.Stderr);
    }

    [Fact]
    public void ImpersonationIsAskedForAndTheServersRefusalNamesWhoWasRefused()
    {
        string user = $$"""{token: "{{cluster.Server.Token}}", as: jane, as-groups: [viewers]}""";
        var refused = List(Kubeconfig(SkipVerify, user));
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("User \"jane\" cannot list resource \"virtualmachines\"", refused.Stderr);
        Assert.Contains("ask your cluster administrator", refused.Stderr);
    }

    [Fact]
    public void AKubeconfigThatCannotBeUsedSaysWhy()
    {
        var noContext = List(Kubeconfig(SkipVerify, TokenUser), "--context", "elsewhere");
        Assert.Equal(1, noContext.ExitCode);
        Assert.Contains("has no context elsewhere", noContext.Stderr);

        var provider = List(Kubeconfig(SkipVerify, "{auth-provider: {name: gcp}}"));
        Assert.Equal(1, provider.ExitCode);
        Assert.Contains("auth provider 'gcp'", provider.Stderr);
        Assert.Contains("exec credential plugin", provider.Stderr);

        var halfPair = List(Kubeconfig(SkipVerify, "{client-certificate: client.crt}"));
        Assert.Equal(1, halfPair.ExitCode);
        Assert.Contains("client.crt", halfPair.Stderr);

        var badToken = List(Kubeconfig(SkipVerify, "{token: not-the-token}"));
        Assert.Equal(1, badToken.ExitCode);
        Assert.Contains("the kubeconfig's credentials were not accepted", badToken.Stderr);
    }
}
