using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;

namespace Podvisor.Operator.Runtime;

/// <summary>
/// One active operator among its replicas, by a coordination.k8s.io Lease (KubernetesClient's elector).
/// The work runs only while this replica holds the lease and is cancelled the moment it does not: a
/// replica that lost the lease must stop acting at once (then exit, as controller-runtime's managers do).
/// Timings: a candidate looks at the lease every <see cref="RetryPeriod"/>; it starts the lease's
/// <see cref="LeaseDuration"/> from when it saw the dead leader's last renewal (clocks of other machines are not
/// trusted), so it leads at most LeaseDuration + 2 × RetryPeriod (12 s) plus two API round trips after the leader's
/// death. With a 2 s retry that bound was 14 s, and a loaded CI machine took a takeover past 15 s.
/// </summary>
public sealed class LeaderElection(IKubernetes client, string leaseNamespace, string leaseName, string identity, Action<string>? log = null)
{
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(10), RenewDeadline = TimeSpan.FromSeconds(7),
        RetryPeriod = TimeSpan.FromSeconds(1);

    private volatile bool _isLeader;
    private volatile string? _leader;

    public string Identity => identity;

    public bool IsLeader => _isLeader;

    /// <summary>The identity of the current leader, as last observed.</summary>
    public string? Leader => _leader;

    /// <summary>Waits to lead, runs <paramref name="whileLeading"/> while leading; returns when leadership is
    /// lost (or <paramref name="cancellationToken"/> fires) and the work has stopped.</summary>
    public async Task RunAsync(Func<CancellationToken, Task> whileLeading, CancellationToken cancellationToken)
    {
        var config = new LeaderElectionConfig(new LeaseLock(client, leaseNamespace, leaseName, identity))
        {
            LeaseDuration = LeaseDuration,
            RenewDeadline = RenewDeadline,
            RetryPeriod = RetryPeriod,
        };
        using var elector = new LeaderElector(config);
        using var leading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task? work = null;
        elector.OnStartedLeading += () =>
        {
            _isLeader = true;
            log?.Invoke($"{identity}: leading ({leaseNamespace}/{leaseName})");
            work = Task.Run(() => whileLeading(leading.Token), CancellationToken.None);
        };
        elector.OnStoppedLeading += () =>
        {
            _isLeader = false;
            leading.Cancel();
        };
        elector.OnNewLeader += leader => _leader = leader;
        elector.OnError += e => log?.Invoke($"{identity}: leader election: {e.Message}");
        try
        {
            await elector.RunUntilLeadershipLostAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
        finally
        {
            _isLeader = false;
            await leading.CancelAsync();
            if (work is not null)
            {
                try
                {
                    await work;
                }
                catch (OperationCanceledException) { }
            }
        }
    }
}
