using System.Diagnostics;
using k8s;
using Podvisor.Operator.Runtime;
using Podvisor.Testing;

namespace Podvisor.Operator.Tests;

public sealed class LeaderElectionTests(CrdApiServerFixture fixture) : IClassFixture<CrdApiServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record Replica(LeaderElection Election, CancellationTokenSource Kill, Task Run, List<bool> WorkCancelled);

    private Replica Start(string identity)
    {
        var election = new LeaderElection(fixture.Client, "default", "podvisor-operator", identity);
        var kill = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var cancelled = new List<bool>();
        var run = Task.Run(() => election.RunAsync(async token =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, token);
            }
            catch (OperationCanceledException)
            {
                lock (cancelled) cancelled.Add(true);
                throw;
            }
        }, kill.Token), Ct);
        return new Replica(election, kill, run, cancelled);
    }

    [Fact]
    public async Task OneReplicaLeadsAndAnotherTakesOverWithinFifteenSecondsOfItsDeath()
    {
        var a = Start("replica-a");
        var b = Start("replica-b");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!a.Election.IsLeader && !b.Election.IsLeader)
        {
            Assert.True(DateTime.UtcNow < deadline, "nobody became leader");
            await Task.Delay(50, Ct);
        }
        await Task.Delay(LeaderElection.RetryPeriod * 2, Ct);
        Assert.True(a.Election.IsLeader ^ b.Election.IsLeader, "exactly one replica leads");
        var (leader, follower) = a.Election.IsLeader ? (a, b) : (b, a);
        var lease = await fixture.Client.CoordinationV1.ReadNamespacedLeaseAsync("podvisor-operator", "default", cancellationToken: Ct);
        Assert.Equal(leader.Election.Identity, lease.Spec.HolderIdentity);
        // The follower learns who leads when it next looks at the lease (every RetryPeriod).
        var learn = DateTime.UtcNow + LeaderElection.LeaseDuration;
        while (follower.Election.Leader != leader.Election.Identity)
        {
            Assert.True(DateTime.UtcNow < learn, $"the follower still sees leader '{follower.Election.Leader}'");
            await Task.Delay(50, Ct);
        }

        // Kill the leader: it stops renewing and never releases the lease, as a crashed pod would.
        var watch = Stopwatch.StartNew();
        await leader.Kill.CancelAsync();
        await leader.Run;
        Assert.Single(leader.WorkCancelled);                         // its work was stopped
        while (!follower.Election.IsLeader)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), "the other replica did not take over within 15 s");
            await Task.Delay(50, Ct);
        }
        TestContext.Current.SendDiagnosticMessage($"takeover after {watch.Elapsed.TotalSeconds:0.0} s");
        await follower.Kill.CancelAsync();
        await follower.Run;
    }
}
