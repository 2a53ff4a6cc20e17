using k8s.Models;
using Podvisor.Api;
using Podvisor.Operator.Controllers;

namespace Podvisor.Operator.Tests;

public sealed class EvacuationPolicyTests
{
    private static V1Node Node(bool cordoned = false, params V1Taint[] taints) =>
        new() { Metadata = new() { Name = "n" }, Spec = new V1NodeSpec { Unschedulable = cordoned, Taints = taints } };

    [Fact]
    public void ANodeDrainsWhenCordonedOrTaintedForADrainOnly()
    {
        Assert.False(EvacuationPolicy.IsDraining(Node()));
        Assert.True(EvacuationPolicy.IsDraining(Node(cordoned: true)));
        Assert.True(EvacuationPolicy.IsDraining(Node(taints: new V1Taint { Key = Evacuation.DrainTaint, Effect = "NoSchedule" })));
        Assert.True(EvacuationPolicy.IsDraining(Node(taints: new V1Taint { Key = Evacuation.DrainTaint, Effect = "NoExecute" })));
        // PreferNoSchedule asks nothing to leave; other taints are not drains.
        Assert.False(EvacuationPolicy.IsDraining(Node(taints: new V1Taint { Key = Evacuation.DrainTaint, Effect = "PreferNoSchedule" })));
        Assert.False(EvacuationPolicy.IsDraining(Node(taints: new V1Taint { Key = "node.kubernetes.io/not-ready", Effect = "NoSchedule" })));
    }

    [Theory]
    [InlineData(EvictionStrategies.None, true, false, false)]
    [InlineData(EvictionStrategies.LiveMigrate, true, true, true)]
    [InlineData(EvictionStrategies.LiveMigrate, false, true, true)]          // shielded even so: it holds the drain
    [InlineData(EvictionStrategies.LiveMigrateIfPossible, true, true, true)]
    [InlineData(EvictionStrategies.LiveMigrateIfPossible, false, false, true)] // cannot move: a drain stops it
    [InlineData(EvictionStrategies.External, true, true, false)]             // someone else moves it
    public void EachStrategyShieldsAndMigratesAsKubeVirtsDoes(string strategy, bool migratable, bool shielded, bool migrates)
    {
        Assert.Equal(shielded, EvacuationPolicy.Shielded(strategy, migratable));
        Assert.Equal(migrates, EvacuationPolicy.Migrates(strategy));
    }

    [Fact]
    public void TheBackOffDoublesFromTenSecondsUpToFiveMinutes()
    {
        Assert.Equal(TimeSpan.Zero, EvacuationPolicy.Backoff(0));
        Assert.Equal([10, 20, 40, 80, 160, 300, 300], [.. Enumerable.Range(1, 7).Select(n => EvacuationPolicy.Backoff(n).TotalSeconds)]);
        Assert.Equal(EvacuationPolicy.MaxBackoff, EvacuationPolicy.Backoff(int.MaxValue));
    }

    [Fact]
    public void TheBudgetKeepsBothPodsOnlyWhileAMigrationIsInFlight()
    {
        Assert.Equal(1, EvacuationPolicy.MinAvailable(migrationInFlight: false));
        Assert.Equal(2, EvacuationPolicy.MinAvailable(migrationInFlight: true));
    }
}
