using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Podvisor.Testing;

/// <summary>
/// Plays the kube-scheduler and the kubelets of a few named nodes against a real API server, for tests that
/// have neither (never shipped): registers the Node objects, binds each pending pod matched by the label
/// selector to the first node that fits (not cordoned, taints tolerated, nodeSelector and required node
/// affinity, resources — extended resources included), or marks it Unschedulable as the scheduler would;
/// "runs" a bound pod by reporting it Running and Ready with a pod IP (or as <see cref="Behaviour"/> says);
/// confirms a graceful deletion as a kubelet does once containers stop.
/// Events of one pod are handled in order, different pods in parallel.
/// </summary>
public sealed class FakeNodes : IAsyncDisposable
{
    /// <summary>What the fake kubelet does with a bound pod: its status to report, or null to leave it alone.</summary>
    public delegate V1PodStatus? PodBehaviour(V1Pod pod, string podIp);

    private const int Workers = 8;
    private readonly IKubernetes _client;
    private readonly string _labelSelector;
    private readonly List<V1Node> _nodes = [];
    private readonly ConcurrentDictionary<string, string> _podIps = new();
    private readonly Channel<V1Pod>[] _queues = [.. Enumerable.Range(0, Workers).Select(_ => Channel.CreateUnbounded<V1Pod>())];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private int _nextIp;
    // What bound pods hold on each node, by pod uid, until they end or go; scheduling is one at a time.
    private readonly ConcurrentDictionary<string, (string Node, Dictionary<string, decimal> Requests)> _reserved = new();
    private readonly SemaphoreSlim _scheduling = new(1, 1);

    private readonly string? _namespace;

    private FakeNodes(IKubernetes client, string labelSelector, string? ns)
    {
        _client = client;
        _labelSelector = labelSelector;
        _namespace = ns;
    }

    /// <summary>How bound pods "run"; default: Running, every container ready.</summary>
    public PodBehaviour Behaviour { get; set; } = RunReady;

    /// <summary>When set, bound pods really run (e.g. as local launcher processes) instead of <see cref="Behaviour"/>.</summary>
    public IPodRuntime? Runtime { get; set; }

    private readonly ConcurrentDictionary<string, bool> _started = new();

    /// <summary>Pods this agent bound, by "namespace/name" → node.</summary>
    public ConcurrentDictionary<string, string> Bound { get; } = new();

    public IReadOnlyList<V1Node> Nodes => _nodes;

    /// <summary>What went wrong while playing kubelet (a test asserts this stays empty).</summary>
    public ConcurrentBag<string> Errors { get; } = [];

    /// <param name="nodes">Node names with their labels.</param>
    /// <param name="ns">Only pods of this namespace (null: all).</param>
    /// <param name="allocatable">Per node; default: 8 CPUs, 32 GiB, 110 pods, 110 of each Podvisor device.</param>
    public static async Task<FakeNodes> StartAsync(IKubernetes client, string labelSelector, IEnumerable<(string Name, IDictionary<string, string>? Labels)> nodes,
        string? ns = null, IDictionary<string, string>? allocatable = null, CancellationToken cancellationToken = default)
    {
        var agent = new FakeNodes(client, labelSelector, ns);
        var resources = (allocatable ?? new Dictionary<string, string>
        {
            ["cpu"] = "8", ["memory"] = "32Gi", ["pods"] = "110", ["devices.podvisor.io/kvm"] = "110", ["devices.podvisor.io/tun"] = "110",
        }).ToDictionary(kv => kv.Key, kv => new ResourceQuantity(kv.Value));
        foreach (var (name, labels) in nodes)
        {
            var nodeLabels = new Dictionary<string, string>(labels ?? new Dictionary<string, string>()) { ["kubernetes.io/hostname"] = name };
            var node = await client.CoreV1.CreateNodeAsync(new V1Node { Metadata = new V1ObjectMeta { Name = name, Labels = nodeLabels } },
                cancellationToken: cancellationToken);
            var status = new V1NodeStatus
            {
                Capacity = resources, Allocatable = resources,
                Conditions = [new V1NodeCondition { Type = "Ready", Status = "True", Reason = "KubeletReady", Message = "fake kubelet (tests)" }],
                Addresses = [new V1NodeAddress { Type = "InternalIP", Address = "127.0.0.1" }],
            };
            node.Status = status;
            node = await client.CoreV1.ReplaceNodeStatusAsync(node, name, cancellationToken: cancellationToken);
            // Admission taints a new node not-ready; the node lifecycle controller lifts that once the kubelet reports Ready.
            if (node.Spec?.Taints is { Count: > 0 })
                node = await client.CoreV1.PatchNodeAsync(new V1Patch("""{"spec":{"taints":null}}""", V1Patch.PatchType.MergePatch), name,
                    cancellationToken: cancellationToken);
            agent._nodes.Add(node);
        }
        agent._loops.Add(Task.Run(() => agent.WatchAsync(agent._stop.Token)));
        agent._loops.AddRange(agent._queues.Select(q => Task.Run(() => agent.WorkAsync(q.Reader, agent._stop.Token))));
        return agent;
    }

    /// <summary>The default behaviour: every container started and ready.</summary>
    public static V1PodStatus RunReady(V1Pod pod, string podIp) => Status(pod, podIp, ready: true);

    /// <summary>A Running pod status; <paramref name="ready"/> sets its containers' readiness.</summary>
    public static V1PodStatus Status(V1Pod pod, string podIp, bool ready) => new()
    {
        Phase = "Running",
        PodIP = podIp,
        PodIPs = [new V1PodIP { Ip = podIp }],
        HostIP = "127.0.0.1",
        StartTime = DateTime.UtcNow,
        Conditions =
        [
            new V1PodCondition { Type = "PodScheduled", Status = "True" },
            new V1PodCondition { Type = "Initialized", Status = "True" },
            new V1PodCondition { Type = "ContainersReady", Status = ready ? "True" : "False" },
            new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" },
        ],
        ContainerStatuses = [.. pod.Spec.Containers.Select(c => new V1ContainerStatus
        {
            Name = c.Name, Image = c.Image, ImageID = "", Ready = ready, Started = true, RestartCount = 0,
            State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = DateTime.UtcNow } },
        })],
    };

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var queue in _queues) queue.Writer.TryComplete();
        try
        {
            await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (OperationCanceledException) { }
        _stop.Dispose();
        _scheduling.Dispose();
    }

    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var list = _namespace is null
                    ? await _client.CoreV1.ListPodForAllNamespacesAsync(labelSelector: _labelSelector, cancellationToken: cancellationToken)
                    : await _client.CoreV1.ListNamespacedPodAsync(_namespace, labelSelector: _labelSelector, cancellationToken: cancellationToken);
                foreach (var pod in list.Items) Dispatch(pod);
                string version = list.Metadata.ResourceVersion;
                var events = _namespace is null
                    ? _client.CoreV1.WatchListPodForAllNamespacesAsync(labelSelector: _labelSelector, resourceVersion: version, timeoutSeconds: 300,
                        cancellationToken: cancellationToken)
                    : _client.CoreV1.WatchListNamespacedPodAsync(_namespace, labelSelector: _labelSelector, resourceVersion: version, timeoutSeconds: 300,
                        cancellationToken: cancellationToken);
                await foreach (var (type, pod) in events)
                {
                    if (type is WatchEventType.Added or WatchEventType.Modified) Dispatch(pod);
                    else if (type == WatchEventType.Deleted) _reserved.TryRemove(pod.Metadata.Uid, out _);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or KubernetesException)
            {
                await Task.Delay(200, cancellationToken);      // list again
            }
        }
    }

    private void Dispatch(V1Pod pod)
    {
        int worker = (int)((uint)StringComparer.Ordinal.GetHashCode(pod.Metadata.Uid) % Workers);
        _queues[worker].Writer.TryWrite(pod);
    }

    private async Task WorkAsync(ChannelReader<V1Pod> queue, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var pod in queue.ReadAllAsync(cancellationToken))
            {
                try
                {
                    await HandleAsync(pod, cancellationToken);
                }
                catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
                {
                    // The pod moved on (deleted, or a newer version is on its way to us).
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Errors.Add($"{pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}: {e.Message}");
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
    }

    private async Task HandleAsync(V1Pod pod, CancellationToken cancellationToken)
    {
        string ns = pod.Metadata.NamespaceProperty, name = pod.Metadata.Name;
        string? node = pod.Spec.NodeName;
        bool ours = node is not null && _nodes.Any(n => n.Metadata.Name == node);
        if (pod.Metadata.DeletionTimestamp is not null)
        {
            // A kubelet stops the containers, then removes the pod for good (grace period 0).
            if (ours && Runtime is { } runtime && _started.TryRemove(pod.Metadata.Uid, out _)) await runtime.StopAsync(pod, cancellationToken);
            if (ours)
                await _client.CoreV1.DeleteNamespacedPodAsync(name, ns, new V1DeleteOptions
                {
                    GracePeriodSeconds = 0, Preconditions = new V1Preconditions { Uid = pod.Metadata.Uid },
                }, cancellationToken: cancellationToken);
            return;
        }
        if (string.IsNullOrEmpty(node))
        {
            await ScheduleAsync(pod, cancellationToken);
            return;
        }
        if (pod.Status?.Phase is "Succeeded" or "Failed") _reserved.TryRemove(pod.Metadata.Uid, out _);
        if (!ours || pod.Status?.Phase is "Running" or "Succeeded" or "Failed") return;
        string ip = _podIps.GetOrAdd(pod.Metadata.Uid, _ =>
        {
            int n = Interlocked.Increment(ref _nextIp);
            return $"10.244.{n / 250}.{n % 250 + 1}";
        });
        if (Runtime is { } podRuntime)
        {
            if (!_started.TryAdd(pod.Metadata.Uid, true)) return;
            string ns0 = pod.Metadata.NamespaceProperty, name0 = pod.Metadata.Name;
            await podRuntime.StartAsync(pod, ip, async status =>
            {
                try
                {
                    // The latest pod: the status goes with the metadata the API server has now.
                    var current = await _client.CoreV1.ReadNamespacedPodAsync(name0, ns0, cancellationToken: cancellationToken);
                    if (current.Metadata.Uid == pod.Metadata.Uid) await ReportStatusAsync(current, status, cancellationToken);
                }
                catch (Exception e) when (e is HttpOperationException or HttpRequestException or OperationCanceledException)
                {
                    // Gone or going: nothing to report to.
                }
            }, cancellationToken);
            return;
        }
        if (Behaviour(pod, ip) is not { } status) return;
        await ReportStatusAsync(pod, status, cancellationToken);
    }

    // The whole pod goes back: a status update of this API server keeps what it is sent in metadata (labels included).
    private Task ReportStatusAsync(V1Pod pod, V1PodStatus status, CancellationToken cancellationToken)
    {
        pod.Status = status;
        return _client.CoreV1.ReplaceNamespacedPodStatusAsync(pod, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: cancellationToken);
    }

    private async Task ScheduleAsync(V1Pod pod, CancellationToken cancellationToken)
    {
        string? node;
        string why;
        await _scheduling.WaitAsync(cancellationToken);
        try
        {
            await RefreshNodesAsync(cancellationToken);
            (node, why) = Fit(pod, out var requests);
            if (node is not null) _reserved[pod.Metadata.Uid] = (node, requests);
        }
        finally
        {
            _scheduling.Release();
        }
        if (node is null)
        {
            if (pod.Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Status == "False" && c.Message == why) == true) return;
            var status = pod.Status ?? new V1PodStatus { Phase = "Pending" };
            status.Phase ??= "Pending";
            status.Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = why, LastTransitionTime = DateTime.UtcNow }];
            await ReportStatusAsync(pod, status, cancellationToken);
            return;
        }
        await _client.CoreV1.CreateNamespacedPodBindingAsync(new V1Binding
        {
            Metadata = new V1ObjectMeta { Name = pod.Metadata.Name, NamespaceProperty = pod.Metadata.NamespaceProperty },
            Target = new V1ObjectReference { Kind = "Node", Name = node },
        }, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: cancellationToken);
        Bound[$"{pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}"] = node;
    }

    /// <summary>Reads the nodes again: cordons and taints come and go.</summary>
    private async Task RefreshNodesAsync(CancellationToken cancellationToken)
    {
        for (int i = 0; i < _nodes.Count; i++) _nodes[i] = await _client.CoreV1.ReadNodeAsync(_nodes[i].Metadata.Name, cancellationToken: cancellationToken);
    }

    /// <summary>A NoSchedule or NoExecute taint of the node that none of the pod's tolerations tolerates, if any.</summary>
    private static V1Taint? UntoleratedTaint(V1Pod pod, V1Node node) =>
        node.Spec?.Taints?.FirstOrDefault(t => t.Effect is "NoSchedule" or "NoExecute" && !(pod.Spec.Tolerations ?? []).Any(o =>
            (o.Effect is null || o.Effect == t.Effect)
            && (o.OperatorProperty == "Exists" ? o.Key is null || o.Key == t.Key : o.Key == t.Key && (o.Value ?? "") == (t.Value ?? ""))));

    /// <summary>The first node that fits the pod, or null and the scheduler's kind of message.</summary>
    private (string? Node, string Why) Fit(V1Pod pod, out Dictionary<string, decimal> requests)
    {
        requests = pod.Spec.Containers.SelectMany(c => c.Resources?.Requests ?? new Dictionary<string, ResourceQuantity>())
            .GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value.ToDecimal()));
        int selectorMisses = 0, resourceMisses = 0, cordoned = 0, tainted = 0;
        string? missing = null, taint = null;
        foreach (var node in _nodes)
        {
            var labels = node.Metadata.Labels;
            if (node.Spec?.Unschedulable == true)
            {
                cordoned++;
                continue;
            }
            if (UntoleratedTaint(pod, node) is { } t)
            {
                tainted++;
                taint = $"{{{t.Key}: {t.Value}}}";
                continue;
            }
            if (pod.Spec.NodeSelector?.Any(kv => !labels.TryGetValue(kv.Key, out string? v) || v != kv.Value) == true || !AffinityAllows(pod, labels))
            {
                selectorMisses++;
                continue;
            }
            var asked = requests;
            string? lacking = asked.Keys.FirstOrDefault(r => !node.Status.Allocatable.TryGetValue(r, out var have) || have.ToDecimal() < asked[r] + Used(node.Metadata.Name, r));
            if (lacking is not null)
            {
                resourceMisses++;
                missing = lacking;
                continue;
            }
            return (node.Metadata.Name, "");
        }
        var reasons = new List<string>();
        if (cordoned > 0) reasons.Add($"{cordoned} node(s) were unschedulable");
        if (tainted > 0) reasons.Add($"{tainted} node(s) had taint {taint}, that the pod didn't tolerate");
        if (selectorMisses > 0) reasons.Add($"{selectorMisses} node(s) didn't match Pod's node affinity/selector");
        if (resourceMisses > 0) reasons.Add($"{resourceMisses} Insufficient {missing}");
        return (null, $"0/{_nodes.Count} nodes are available: {string.Join(", ", reasons)}.");
    }

    /// <summary>Required node affinity: some term whose every expression (In, NotIn, Exists, DoesNotExist) the node's labels meet.</summary>
    private static bool AffinityAllows(V1Pod pod, IDictionary<string, string> labels)
    {
        var terms = pod.Spec.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution?.NodeSelectorTerms;
        if (terms is null || terms.Count == 0) return true;
        return terms.Any(term => (term.MatchExpressions ?? []).All(e =>
        {
            bool has = labels.TryGetValue(e.Key, out string? value);
            return e.OperatorProperty switch
            {
                "In" => has && e.Values.Contains(value!),
                "NotIn" => !has || !e.Values.Contains(value!),
                "Exists" => has,
                "DoesNotExist" => !has,
                _ => false,
            };
        }));
    }

    private decimal Used(string node, string resource) =>
        _reserved.Values.Where(r => r.Node == node).Sum(r => r.Requests.GetValueOrDefault(resource));
}
