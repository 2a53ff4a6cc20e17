using k8s.Models;

namespace Podvisor.Testing;

/// <summary>What runs a bound pod's containers for <see cref="FakeNodes"/> (a kubelet's container runtime).</summary>
public interface IPodRuntime
{
    /// <summary>Starts the pod; <paramref name="report"/> posts each status it reaches (Running, Ready, its end). <paramref name="podIp"/>
    /// is the node's choice; a runtime that wires the pod's network itself reports the address it gave instead.</summary>
    Task StartAsync(V1Pod pod, string podIp, Func<V1PodStatus, Task> report, CancellationToken cancellationToken);

    /// <summary>Stops the pod's containers as a graceful deletion does: SIGTERM, the grace period, then SIGKILL.</summary>
    Task StopAsync(V1Pod pod, CancellationToken cancellationToken);
}
