using System.Diagnostics;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Testing;

namespace Podvisor.EndToEnd.Tests;

/// <summary>
/// What every end-to-end test starts from: a real API server with the CRDs, a scratch folder, the operator as
/// its own process, and a node or two whose launcher pods run as <c>podvisor-launcher</c> processes.
/// </summary>
internal sealed class LocalCluster : IAsyncDisposable
{
    private readonly StringBuilder _operatorLog = new();
    private readonly List<string> _operatorExits = [];
    private Process? _operator;
    private volatile bool _disposing;

    private LocalCluster(KubeApiServer server, string storage)
    {
        Server = server;
        Client = server.Client();
        Storage = storage;
    }

    public KubeApiServer Server { get; }

    public Kubernetes Client { get; }

    public string Storage { get; }

    public LauncherPods Launchers { get; private set; } = null!;

    public FakeNodes Nodes { get; private set; } = null!;

    /// <summary>The operator process now running (a Deployment's replica: restarted whenever it exits).</summary>
    public Process Operator => _operator!;

    /// <summary>Why each earlier operator process ended: "lost the lease" (a replica that misses its renewal
    /// deadline exits by design — under the emulated host's load it happens), or what it printed last.</summary>
    public IReadOnlyList<string> OperatorExits
    {
        get { lock (_operatorLog) return [.. _operatorExits]; }
    }

    /// <summary>Starts everything, with namespace <paramref name="ns"/> made and the node serving it.</summary>
    /// <param name="claimFolder">Where a PersistentVolumeClaim's files live on the node.</param>
    /// <param name="nodes">The nodes' names (default: node-a alone); pods are placed on the first that fits.</param>
    public static async Task<LocalCluster> StartAsync(string ns, Func<string, string>? claimFolder, CancellationToken cancellationToken, string[]? nodes = null)
    {
        var server = await KubeApiServer.StartAsync(cancellationToken);
        // Short: a pod's console socket is STORAGE/pods/UID/var/run/podvisor/launcher/console.sock, and a Unix socket path
        // takes at most 107 bytes.
        var cluster = new LocalCluster(server, Directory.CreateTempSubdirectory($"pv-{ns}-").FullName);
        await server.ApplyCrdsAsync(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "crds"), "*.yaml").Select(File.ReadAllText), cancellationToken);
        await cluster.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } }, cancellationToken: cancellationToken);
        cluster.Launchers = new LauncherPods(cluster.Client, cluster.Storage,
            claimFolder is null ? null : claim => claimFolder(claim));
        cluster.Nodes = await FakeNodes.StartAsync(cluster.Client, "podvisor.io/component=launcher", (nodes ?? ["node-a"]).Select(n => (n, (IDictionary<string, string>?)null)), ns,
            cancellationToken: cancellationToken);
        cluster.Nodes.Runtime = cluster.Launchers;
        cluster.StartOperator($"{ns}-operator");
        return cluster;
    }

    /// <summary>Runs the operator as a Deployment would: when the process ends, a new one starts.</summary>
    private void StartOperator(string identity)
    {
        var process = OperatorProcess.Start(Server, identity, line => { lock (_operatorLog) _operatorLog.AppendLine(line); });
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) =>
        {
            if (_disposing) return;
            process.WaitForExit();                                   // its last lines are in the log before we look
            lock (_operatorLog)
            {
                string log = _operatorLog.ToString();
                _operatorExits.Add(log.Contains("lost the lease", StringComparison.Ordinal) && log.LastIndexOf("lost the lease", StringComparison.Ordinal) > log.LastIndexOf("leading (", StringComparison.Ordinal)
                    ? "lost the lease" : $"exit code {process.ExitCode}: {log[Math.Max(0, log.Length - 2000)..]}");
                _operatorLog.AppendLine($"--- operator exited ({process.ExitCode}); restarting it");
            }
            StartOperator(identity);
        };
        _operator = process;
    }

    /// <summary>The operator's and launchers' output so far, for a failure message.</summary>
    public string Diagnostics()
    {
        lock (_operatorLog) return $"operator:\n{_operatorLog}\nlaunchers:\n{Launchers.Logs()}";
    }

    public Task<VirtualMachineInstance?> Vmi(string ns, string name, CancellationToken cancellationToken) =>
        Get(ns, "virtualmachineinstances", name, ApiJsonContext.Default.VirtualMachineInstance, cancellationToken);

    public Task<VirtualMachine?> Vm(string ns, string name, CancellationToken cancellationToken) =>
        Get(ns, "virtualmachines", name, ApiJsonContext.Default.VirtualMachine, cancellationToken);

    private async Task<T?> Get<T>(string ns, string plural, string name, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            var json = (JsonElement)await Client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, plural, name,
                cancellationToken: cancellationToken);
            return json.Deserialize(type);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>The machine's named network namespaces (<c>ip netns list</c>): each launcher pod has one while it runs.</summary>
    public static Task<string> NetworkNamespacesAsync(CancellationToken cancellationToken) =>
        Podvisor.EmulatedHost.ProcessRunner.RunAsync("ip", ["netns", "list"], cancellationToken: cancellationToken);

    /// <summary>Reads until <paramref name="condition"/> holds; fails with the diagnostics after <paramref name="patience"/>.</summary>
    public async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> condition, string what, TimeSpan patience, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            var value = await read();
            if (condition(value)) return value;
            if (DateTime.UtcNow > deadline) Assert.Fail($"{what}: not within {patience}\n{Diagnostics()}");
            await Task.Delay(500, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _disposing = true;
        if (_operator is { HasExited: false }) _operator.Kill(entireProcessTree: true);
        _operator?.Dispose();
        await Nodes.DisposeAsync();
        await Launchers.DisposeAsync();
        Client.Dispose();
        await Server.DisposeAsync();
        Directory.Delete(Storage, recursive: true);
    }
}
