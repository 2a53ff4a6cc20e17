using System.Diagnostics;
using System.Security.Cryptography;
using k8s;
using k8s.Models;

namespace Podvisor.Testing;

/// <summary>
/// A real etcd + kube-apiserver on loopback for one test class (controller-runtime's envtest, in C#): fresh
/// state, free ports, an admin bearer token, service-account keys; the serving certificate is the API
/// server's own self-signed one, so clients skip verification (loopback only). Logs stay in
/// <see cref="StateDirectory"/> until disposal and are quoted when start-up fails.
/// </summary>
public sealed class KubeApiServer : IAsyncDisposable
{
    private readonly List<Process> _processes = [];

    private KubeApiServer(string state, int port, string token)
    {
        StateDirectory = state;
        Port = port;
        Token = token;
    }

    public string StateDirectory { get; }

    public int Port { get; }

    public string Token { get; }

    public string Url => $"https://127.0.0.1:{Port}";

    /// <summary>A kubeconfig file for kubectl.</summary>
    public string KubeconfigPath => Path.Combine(StateDirectory, "kubeconfig");

    public TimeSpan StartupTime { get; private set; }

    public static async Task<KubeApiServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var assets = KubeAssets.Find();
        string state = Directory.CreateTempSubdirectory("podvisor-kube-").FullName;
        int etcdPort = LoopbackPorts.Free(), peerPort = LoopbackPorts.Free(), apiPort = LoopbackPorts.Free();
        string token = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
        var server = new KubeApiServer(state, apiPort, token);
        var watch = Stopwatch.StartNew();
        try
        {
            using (var rsa = RSA.Create(2048))
            {
                await File.WriteAllTextAsync(Path.Combine(state, "sa.key"), rsa.ExportRSAPrivateKeyPem(), cancellationToken);
                await File.WriteAllTextAsync(Path.Combine(state, "sa.pub"), rsa.ExportSubjectPublicKeyInfoPem(), cancellationToken);
            }
            await File.WriteAllTextAsync(Path.Combine(state, "tokens.csv"), $"{token},admin,admin-uid,\"system:masters\"\n", cancellationToken);
            await File.WriteAllTextAsync(server.KubeconfigPath, $"""
                apiVersion: v1
                kind: Config
                clusters:
                - name: test
                  cluster: {"{"}server: "{server.Url}", insecure-skip-tls-verify: true{"}"}
                users:
                - name: admin
                  user: {"{"}token: "{token}"{"}"}
                contexts:
                - name: test
                  context: {"{"}cluster: test, user: admin{"}"}
                current-context: test
                """, cancellationToken);

            server.Start(assets.Etcd, "etcd",
                "--name", "test", "--data-dir", Path.Combine(state, "etcd-data"),
                "--listen-client-urls", $"http://127.0.0.1:{etcdPort}", "--advertise-client-urls", $"http://127.0.0.1:{etcdPort}",
                "--listen-peer-urls", $"http://127.0.0.1:{peerPort}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peerPort}",
                "--initial-cluster", $"test=http://127.0.0.1:{peerPort}", "--unsafe-no-fsync");
            server.Start(assets.KubeApiServer, "kube-apiserver",
                "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", $"--secure-port={apiPort}", "--insecure-port=0",
                $"--cert-dir={Path.Combine(state, "certs")}", $"--etcd-servers=http://127.0.0.1:{etcdPort}",
                "--service-cluster-ip-range=10.0.0.0/24", "--authorization-mode=RBAC", "--anonymous-auth=false",
                $"--token-auth-file={Path.Combine(state, "tokens.csv")}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                $"--service-account-key-file={Path.Combine(state, "sa.pub")}",
                $"--service-account-signing-key-file={Path.Combine(state, "sa.key")}",
                "--api-audiences=https://kubernetes.default.svc.cluster.local", "--allow-privileged=true",
                "--endpoint-reconciler-type=none", "--disable-admission-plugins=ServiceAccount", "--profiling=false");
            await server.WaitReadyAsync(TimeSpan.FromMinutes(2), cancellationToken);
            server.StartupTime = watch.Elapsed;
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Installs CustomResourceDefinitions (YAML documents) and waits until each is Established.</summary>
    public async Task ApplyCrdsAsync(IEnumerable<string> yamls, CancellationToken cancellationToken = default)
    {
        using var client = Client();
        var names = new List<string>();
        foreach (string yaml in yamls)
        {
            var crd = KubernetesYaml.Deserialize<k8s.Models.V1CustomResourceDefinition>(yaml);
            await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd, cancellationToken: cancellationToken);
            names.Add(crd.Metadata.Name);
        }
        foreach (string name in names)
        {
            for (int i = 0; ; i++)
            {
                var status = (await client.ApiextensionsV1.ReadCustomResourceDefinitionAsync(name, cancellationToken: cancellationToken)).Status;
                if (status?.Conditions?.Any(c => c.Type == "Established" && c.Status == "True") == true) break;
                if (i == 100) throw new TimeoutException($"{name} was not Established after 10 s");
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    /// <summary>A client with admin rights.</summary>
    public Kubernetes Client() => new(new KubernetesClientConfiguration
    {
        Host = Url,
        AccessToken = Token,
        SkipTlsVerify = true,
    });

    /// <summary>A kubeconfig (in the state folder) for service account <paramref name="account"/> of <paramref name="ns"/>: a
    /// token the API server issues for it (TokenRequest, an hour), in place of the admin's.</summary>
    public async Task<string> ServiceAccountKubeconfigAsync(string ns, string account, CancellationToken cancellationToken)
    {
        using var admin = Client();
        var token = await admin.CoreV1.CreateNamespacedServiceAccountTokenAsync(new Authenticationv1TokenRequest
        {
            Spec = new V1TokenRequestSpec { Audiences = ["https://kubernetes.default.svc.cluster.local"], ExpirationSeconds = 3600 },
        }, account, ns, cancellationToken: cancellationToken);
        string kubeconfig = Path.Combine(StateDirectory, $"kubeconfig-{ns}-{account}");
        await File.WriteAllTextAsync(kubeconfig, File.ReadAllText(KubeconfigPath).Replace(Token, token.Status.Token), cancellationToken);
        return kubeconfig;
    }

    private void Start(string binary, string name, params string[] args)
    {
        var psi = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {binary}");
        _processes.Add(process);
        var log = new StreamWriter(Path.Combine(StateDirectory, name + ".log")) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    private async Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", Token);
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_processes.FirstOrDefault(p => p.HasExited) is { } dead)
                throw new InvalidOperationException($"{dead.StartInfo.FileName} exited ({dead.ExitCode}) during start-up:\n{Tail()}");
            try
            {
                if (await http.GetStringAsync($"{Url}/readyz", cancellationToken) == "ok") return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested) { }
            await Task.Delay(200, cancellationToken);
        }
        throw new TimeoutException($"kube-apiserver was not ready within {timeout.TotalSeconds} s:\n{Tail()}");
    }

    private string Tail() => string.Join("\n", Directory.GetFiles(StateDirectory, "*.log")
        .Select(f => $"--- {Path.GetFileName(f)}\n" + string.Join("\n", File.ReadLines(f).TakeLast(15))));


    public async ValueTask DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }
            }
            catch (InvalidOperationException) { }
            process.Dispose();
        }
        try
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
        catch (IOException) { }
    }
}
