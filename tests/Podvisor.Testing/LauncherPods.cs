using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace Podvisor.Testing;

/// <summary>
/// Runs launcher pods as local <c>podvisor-launcher</c> processes, as a kubelet and container runtime would
/// (tests only): each pod gets a folder standing in for its filesystem, where its volumes are laid out as
/// the kubelet would mount them (downward API and Secret files written, emptyDirs made, hostPaths and claims
/// linked), and the launcher runs with <c>--root</c> on that folder. The pod is reported Running once the
/// process starts, Ready while its <c>/readyz</c> answers 200 (probed every second, as the pod's probe
/// says), and Succeeded/Failed with the exit code when the process ends. Deletion: SIGTERM, the pod's grace
/// period, then SIGKILL. Each pod has a network of its own, as a CNI plugin gives it (<see cref="PodNetworks"/>):
/// the launcher runs in that namespace, so its control port is the pod's and the masquerade binding has an eth0 and
/// a pod IP to work with; this agent, like the API server's proxy, reaches pods at their IPs. Init containers
/// (containerDisk, kernelBoot.container images) are not run: such a pod is reported Failed, saying so.
/// </summary>
public sealed partial class LauncherPods(IKubernetes client, string storageRoot, Func<string, string>? claimFolder = null) : IPodRuntime, IAsyncDisposable
{
    private sealed class PodProcess
    {
        public required V1Pod Pod;
        public required Process Process;
        public required NetworkNamespace Network;
        public required string PodIp;
        public required string NodeIp;
        public required string Root;
        public readonly StringBuilder Stdout = new(), Stderr = new();
        public Task? Watcher;
    }

    private readonly ConcurrentDictionary<string, PodProcess> _pods = new();
    private readonly CancellationTokenSource _stop = new();

    /// <summary>The serial console (the launcher's standard output: what <c>kubectl logs</c> shows) of the VMI's current pod.</summary>
    public string Console(string ns, string vmi)
    {
        var entry = _pods.Values.Where(p => p.Pod.Metadata.NamespaceProperty == ns && p.Pod.Metadata.Labels is { } labels
            && labels.TryGetValue("podvisor.io/vmi", out string? name) && name == vmi).MaxBy(p => p.Process.StartTime);
        if (entry is null) return "";
        lock (entry.Stdout) return entry.Stdout.ToString();
    }

    /// <summary>The serial console one pod's launcher printed (a migration's source and target each have theirs).</summary>
    public string ConsoleOf(V1Pod pod)
    {
        if (!_pods.TryGetValue(pod.Metadata.Uid, out var entry)) return "";
        lock (entry.Stdout) return entry.Stdout.ToString();
    }

    /// <summary>Every launcher's standard error so far (for failure messages).</summary>
    public string Logs() => string.Join("\n", _pods.Values.Select(p => { lock (p.Stderr) return $"--- {p.Pod.Metadata.Name}:\n{p.Stderr}"; }));

    /// <summary>The launcher processes still running.</summary>
    public int Running => _pods.Values.Count(p => !p.Process.HasExited);

    public async Task StartAsync(V1Pod pod, string nodeChosenIp, Func<V1PodStatus, Task> report, CancellationToken cancellationToken)
    {
        string root = PodFolder(pod);
        string podIp = nodeChosenIp;
        if (pod.Spec.InitContainers is { Count: > 0 } init)
        {
            await report(Ended(pod, podIp, 1, $"this test agent does not run init containers ({string.Join(", ", init.Select(c => c.Name))})"));
            return;
        }
        var container = pod.Spec.Containers.Single(c => c.Name == "compute");
        Directory.CreateDirectory(root);
        try
        {
            await LayOutVolumesAsync(pod, container, root, cancellationToken);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or k8s.Autorest.HttpOperationException)
        {
            await report(Ended(pod, podIp, 1, $"volumes: {e.Message}"));
            return;
        }

        NetworkNamespace network;
        string nodeIp;
        try
        {
            (network, podIp, nodeIp) = PodNetworks.Create();
            // As the kubelet writes it for dnsPolicy ClusterFirst; the node's end stands in for the cluster DNS service.
            Directory.CreateDirectory(Path.Combine(root, "etc"));
            await File.WriteAllTextAsync(Path.Combine(root, "etc", "resolv.conf"), $"search {pod.Metadata.NamespaceProperty}.svc.cluster.local " +
                $"svc.cluster.local cluster.local\nnameserver {nodeIp}\noptions ndots:5\n", cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            await report(Ended(pod, podIp, 1, $"pod network: {e.Message}"));
            return;
        }
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["netns", "exec", network.Name, .. LauncherBinary.Command]) psi.ArgumentList.Add(a);
        // Paths inside the container are paths under the pod's folder here.
        var mountPaths = (container.VolumeMounts ?? []).Select(m => m.MountPath.TrimEnd('/')).ToList();
        var args = container.Command.Skip(1).Concat(container.Args ?? [])
            .Select(a => mountPaths.Any(m => a == m || a.StartsWith(m + "/", StringComparison.Ordinal)) ? Path.Combine(root, a.TrimStart('/')) : a)
            .ToList();
        foreach (string a in args.Concat(["--root", root])) psi.ArgumentList.Add(a);
        psi.Environment["POD_NAME"] = pod.Metadata.Name;
        psi.Environment["POD_NAMESPACE"] = pod.Metadata.NamespaceProperty;
        psi.Environment["POD_IP"] = podIp;
        psi.Environment["NODE_NAME"] = pod.Spec.NodeName;
        var process = Process.Start(psi)!;
        var entry = new PodProcess { Pod = pod, Process = process, Network = network, PodIp = podIp, NodeIp = nodeIp, Root = root };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (entry.Stdout) entry.Stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (entry.Stderr) entry.Stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _pods[pod.Metadata.Uid] = entry;
        await report(FakeNodes.Status(pod, podIp, ready: false));
        entry.Watcher = Task.Run(() => WatchAsync(entry, podIp, report, _stop.Token), CancellationToken.None);
    }

    public async Task StopAsync(V1Pod pod, CancellationToken cancellationToken)
    {
        if (!_pods.TryGetValue(pod.Metadata.Uid, out var entry)) return;
        if (!entry.Process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", entry.Process.Id.ToString()])) await kill.WaitForExitAsync(cancellationToken);
            var grace = TimeSpan.FromSeconds(pod.Spec.TerminationGracePeriodSeconds ?? 30);
            try
            {
                await entry.Process.WaitForExitAsync(cancellationToken).WaitAsync(grace, cancellationToken);
            }
            catch (TimeoutException)
            {
                entry.Process.Kill(entireProcessTree: true);
                await entry.Process.WaitForExitAsync(cancellationToken);
            }
        }
        // The kubelet removes a deleted pod's emptyDirs and its mounts (links here; what they point to stays), and its network.
        if (Directory.Exists(PodFolder(pod))) Directory.Delete(PodFolder(pod), recursive: true);
        entry.Network.Dispose();
    }

    /// <summary>The network namespace the pod's launcher runs in.</summary>
    public string NetworkNamespaceOf(V1Pod pod) => _pods[pod.Metadata.Uid].Network.Name;

    /// <summary>The node's end of the pod's link (its default route, and the DNS server its resolv.conf names).</summary>
    public string NodeAddressOf(V1Pod pod) => _pods[pod.Metadata.Uid].NodeIp;

    /// <summary>The folder standing in for the pod's filesystem.</summary>
    public string PodFolder(V1Pod pod) => Path.Combine(storageRoot, "pods", pod.Metadata.Uid);

    /// <summary>Readiness from /readyz every second while the launcher runs; the end with its exit code.</summary>
    private static async Task WatchAsync(PodProcess entry, string podIp, Func<V1PodStatus, Task> report, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true }) { Timeout = TimeSpan.FromSeconds(5) };
        bool? ready = false;
        while (!entry.Process.HasExited && !cancellationToken.IsCancellationRequested)
        {
            string log;
            lock (entry.Stderr) log = entry.Stderr.ToString();
            var port = ControlPort().Match(log);
            bool now = false;
            if (port.Success)
            {
                try
                {
                    now = (await http.GetAsync($"https://{entry.PodIp}:{port.Groups[1].Value}/readyz", cancellationToken)).IsSuccessStatusCode;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            }
            if (now != ready)
            {
                ready = now;
                await report(FakeNodes.Status(entry.Pod, podIp, now));
            }
            try
            {
                await Task.Delay(1000, cancellationToken);
            }
            catch (OperationCanceledException) { return; }
        }
        await entry.Process.WaitForExitAsync(CancellationToken.None);
        string tail;
        lock (entry.Stderr) tail = string.Join('\n', entry.Stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(5));
        // As the kubelet does: the container's termination message file if it wrote one, else (FallbackToLogsOnError) its last lines.
        string terminationLog = Path.Combine(entry.Root, "dev", "termination-log");
        if (File.Exists(terminationLog) && await File.ReadAllTextAsync(terminationLog, CancellationToken.None) is { Length: > 0 } message) tail = message;
        await report(Ended(entry.Pod, podIp, entry.Process.ExitCode, tail));
    }

    private static V1PodStatus Ended(V1Pod pod, string podIp, int exitCode, string message)
    {
        var status = FakeNodes.Status(pod, podIp, ready: false);
        status.Phase = exitCode == 0 ? "Succeeded" : "Failed";
        foreach (var container in status.ContainerStatuses)
            container.State = new V1ContainerState
            {
                Terminated = new V1ContainerStateTerminated { ExitCode = exitCode, Reason = exitCode == 0 ? "Completed" : "Error", Message = message, FinishedAt = DateTime.UtcNow },
            };
        return status;
    }

    /// <summary>Lays the pod's volumes out under <paramref name="root"/> where the container mounts them.</summary>
    private async Task LayOutVolumesAsync(V1Pod pod, V1Container container, string root, CancellationToken cancellationToken)
    {
        var volumes = pod.Spec.Volumes.ToDictionary(v => v.Name);
        foreach (var mount in container.VolumeMounts ?? [])
        {
            var volume = volumes[mount.Name];
            string at = Path.Combine(root, mount.MountPath.TrimStart('/'));
            Directory.CreateDirectory(Path.GetDirectoryName(at)!);
            if (volume.DownwardAPI is { } downward)
            {
                Directory.CreateDirectory(at);
                foreach (var item in downward.Items)
                {
                    var annotation = AnnotationField().Match(item.FieldRef?.FieldPath ?? "");
                    if (!annotation.Success) throw new InvalidOperationException($"downward API field {item.FieldRef?.FieldPath} is not supported here");
                    await File.WriteAllTextAsync(Path.Combine(at, item.Path), pod.Metadata.Annotations[annotation.Groups[1].Value], cancellationToken);
                }
            }
            else if (volume.Secret is { } secretSource)
            {
                var secret = await client.CoreV1.ReadNamespacedSecretAsync(secretSource.SecretName, pod.Metadata.NamespaceProperty, cancellationToken: cancellationToken);
                Directory.CreateDirectory(at);
                foreach (var (key, value) in secret.Data ?? new Dictionary<string, byte[]>())
                    await File.WriteAllBytesAsync(Path.Combine(at, key), value, cancellationToken);
            }
            else if (volume.EmptyDir is not null)
            {
                Directory.CreateDirectory(at);
            }
            else if (volume.HostPath is { } host)
            {
                if (!File.Exists(host.Path) && !Directory.Exists(host.Path))
                {
                    if (host.Type is "DirectoryOrCreate") Directory.CreateDirectory(host.Path);
                    else throw new InvalidOperationException($"hostPath {host.Path} does not exist on this node");
                }
                File.CreateSymbolicLink(at, host.Path);
            }
            else if (volume.PersistentVolumeClaim is { } claim)
            {
                string folder = claimFolder?.Invoke(claim.ClaimName) ?? throw new InvalidOperationException($"no storage for claim {claim.ClaimName} on this node");
                File.CreateSymbolicLink(at, folder);
            }
            else
            {
                throw new InvalidOperationException($"volume {mount.Name}: this test agent cannot provide its kind");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var entry in _pods.Values.Where(p => !p.Process.HasExited)) entry.Process.Kill(entireProcessTree: true);
        foreach (var entry in _pods.Values)
        {
            await entry.Process.WaitForExitAsync();
            if (entry.Watcher is { } watcher) await watcher.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
            entry.Process.Dispose();
            entry.Network.Dispose();
        }
        _stop.Dispose();
    }

    [GeneratedRegex(@"control API on https://[0-9.]+:(\d+)")]
    private static partial Regex ControlPort();

    [GeneratedRegex(@"^metadata\.annotations\['([^']+)'\]$")]
    private static partial Regex AnnotationField();
}
