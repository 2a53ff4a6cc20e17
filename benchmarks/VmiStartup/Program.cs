using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using k8s;
using k8s.Models;
using Podvisor.Api;
using Podvisor.Benchmarks.VmiStartup;
using Podvisor.Operator.Runtime;
using Podvisor.Testing;

// VMI create → launcher pod created → Running, for a burst of VMIs created at once against a real
// kube-apiserver, with the operator running as its own process and FakeNodes playing scheduler and kubelets
// (a pod is "Running" as soon as it is bound: this measures the control plane, not image pulls or guest boot).
// dotnet run -c Release --project benchmarks/VmiStartup [-- --count 100 --nodes 4 --operator-log]
int count = Option("--count", 100), nodeCount = Option("--nodes", 4);
bool showLog = args.Contains("--operator-log");
const string Ns = "burst";
using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(10));
var ct = cancel.Token;

await using var server = await KubeApiServer.StartAsync(ct);
await server.ApplyCrdsAsync(Directory.GetFiles(Path.Combine(Repository.Root, "crds"), "*.yaml").Select(File.ReadAllText), ct);
using var client = server.Client();
await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = Ns } }, cancellationToken: ct);
await using var nodes = await FakeNodes.StartAsync(client, "podvisor.io/component=launcher",
    Enumerable.Range(0, nodeCount).Select(i => ($"node-{i}", (IDictionary<string, string>?)null)), cancellationToken: ct);

var ready = new TaskCompletionSource();
using var op = OperatorProcess.Start(server, "bench", line =>
{
    if (line.Contains("controllers running")) ready.TrySetResult();
    if (showLog) Console.Error.WriteLine(line);
});
try
{
    await ready.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);

    var clock = Stopwatch.StartNew();
    var sent = new ConcurrentDictionary<string, double>();
    var created = new ConcurrentDictionary<string, double>();
    var podSeen = new ConcurrentDictionary<string, double>();
    var running = new ConcurrentDictionary<string, double>();
    var allRunning = new TaskCompletionSource();
    using var watching = CancellationTokenSource.CreateLinkedTokenSource(ct);
    // Informers, not bare watches: the API server drops a watcher that falls behind a burst, and an informer watches again.
    var podInformer = PodInformers.Create(client, "podvisor.io/component=launcher");
    podInformer.ObjectChanged += pod => podSeen.TryAdd(pod.Metadata.Labels["podvisor.io/vmi"], clock.Elapsed.TotalSeconds);
    var vmiInformer = CustomResourceInformers.Create<VirtualMachineInstance>(client, "virtualmachineinstances");
    vmiInformer.ObjectChanged += vmi =>
    {
        if (vmi.Status?.Phase == VmiPhases.Running && running.TryAdd(vmi.Metadata.Name, clock.Elapsed.TotalSeconds) && running.Count == count)
            allRunning.TrySetResult();
    };
    var podWatch = Task.Run(() => podInformer.RunAsync(watching.Token));
    var vmiWatch = Task.Run(() => vmiInformer.RunAsync(watching.Token));
    await Task.WhenAll(podInformer.Synced, vmiInformer.Synced).WaitAsync(ct);
    await Task.Delay(500, ct);                                    // both watches established after the lists

    double burstStart = clock.Elapsed.TotalSeconds;
    await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
    {
        string name = $"vmi-{i:D3}";
        sent[name] = clock.Elapsed.TotalSeconds;
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToElement(new VirtualMachineInstance
        {
            Metadata = new() { Name = name, NamespaceProperty = Ns },
            Spec = new()
            {
                Domain = new() { Memory = new() { Guest = "128Mi" }, Firmware = new() { KernelBoot = new() { HostPath = new() { KernelPath = "/k" } } } },
            },
        }, ApiJsonContext.Default.VirtualMachineInstance), ApiGroup.Group, ApiGroup.Version, Ns, "virtualmachineinstances", cancellationToken: ct);
        // KubeVirt measures from the VMI's creation: the moment the API server has it (the create's answer), not the request.
        created[name] = clock.Elapsed.TotalSeconds;
    }));
    double createsDone = clock.Elapsed.TotalSeconds - burstStart;
    try
    {
        await allRunning.Task.WaitAsync(TimeSpan.FromMinutes(5), ct);
    }
    catch (TimeoutException)
    {
        Console.Error.WriteLine($"timed out: {podSeen.Count} pods seen, {running.Count} VMIs Running of {count}; "
                                + $"watches: {podWatch.Exception?.GetBaseException().Message ?? "ok"}, {vmiWatch.Exception?.GetBaseException().Message ?? "ok"}; "
                                + $"fake nodes: {string.Join("; ", nodes.Errors.Take(3))}");
        var stuck = await client.CoreV1.ListNamespacedPodAsync(Ns, cancellationToken: ct);
        Console.Error.WriteLine("pods: " + string.Join(", ", stuck.Items.GroupBy(p => $"{p.Status?.Phase}/{p.Spec.NodeName}/{p.Status?.Conditions?.FirstOrDefault()?.Message}").Select(g => $"{g.Key} ×{g.Count()}")));
        var vmis = (JsonElement)await client.CustomObjects.ListNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, Ns, "virtualmachineinstances", cancellationToken: ct);
        Console.Error.WriteLine("vmis: " + string.Join(", ", vmis.GetProperty("items").EnumerateArray().GroupBy(v => v.TryGetProperty("status", out var st) ? st.GetRawText()[..Math.Min(200, st.GetRawText().Length)] : "none").Select(g => $"{g.Key} ×{g.Count()}")));
        throw;
    }
    double burst = clock.Elapsed.TotalSeconds - burstStart;
    await watching.CancelAsync();

    var toPod = created.Keys.Select(k => podSeen[k] - created[k]).ToList();
    var toRunning = created.Keys.Select(k => running[k] - created[k]).ToList();
    var pods = await client.CoreV1.ListNamespacedPodAsync(Ns, cancellationToken: ct);
    string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
    Console.WriteLine($"{count} VMIs created at once ({nodeCount} fake nodes, operator as a process, kube-apiserver v1.20 + etcd on loopback)");
    Console.WriteLine($"creates answered {F(created.Values.Min() - burstStart)}–{F(createsDone)} s after the first was sent; all Running {F(burst)} s after the first create; launcher pods: {pods.Items.Count} (want {count})");
    Console.WriteLine();
    Console.WriteLine("| measure | p50 s | p95 s | max s |");
    Console.WriteLine("|---|---|---|---|");
    Console.WriteLine($"| podvisor: create → launcher pod created | {F(Percentiles.Of(toPod, 50))} | {F(Percentiles.Of(toPod, 95))} | {F(toPod.Max())} |");
    Console.WriteLine($"| podvisor: create → Running | {F(Percentiles.Of(toRunning, 50))} | {F(Percentiles.Of(toRunning, 95))} | {F(toRunning.Max())} |");
    Console.WriteLine("| KubeVirt (published 100-VMI burst, create → Running; real nodes) | 15–25 | 20–40 | |");
    return pods.Items.Count == count ? 0 : 1;
}
finally
{
    if (!op.HasExited) op.Kill(entireProcessTree: true);
}

int Option(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
